//! Helpers shared by every area of the integration tests: the binary's path, scratch files,
//! local servers on 127.0.0.1:0 and the parsing of what a run printed.

pub mod auth_server;
pub mod http_server;
pub mod procs;
