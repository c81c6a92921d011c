//! The one integration-test binary: every area's black-box tests of the real `workflow`
//! executable (and of the public library API where a test needs it), compiled and linked once.
//!
//! `cargo test --test integration <area>::` runs one area, e.g. `cargo test --test integration
//! http::`. Helpers shared by the areas live in `support`.

mod a2a;
mod asyncapi;
mod asyncapi_brokers;
mod asyncapi_web;
mod auth;
mod bounds;
mod brokers;
mod cancel;
mod ci_view;
mod cli;
mod conformance;
mod containers;
mod dry_run;
mod durable;
mod events;
mod grpc;
mod http;
mod journal;
mod journal_integrity;
mod mcp;
mod openapi;
mod processes;
mod receive;
mod reporting;
mod secret_leaks;
mod secrets;
mod serve;
mod stopping;
mod subflows;
mod support;
mod temporal;
mod temporal_effects;
mod temporal_ops;
mod temporal_sealed;
mod truth;
mod validate_cli;
mod validate_snapshots;
