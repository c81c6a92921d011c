//! A gRPC status that is not OK as a workflow error: `communication`, with the HTTP status the
//! gRPC-to-HTTP mapping gives, so `catch: { errors: { with: { status: 503 } } }` and retry
//! policies work as they do for HTTP calls. The status name and message go into `detail`.

use tonic::{Code, Status};

use crate::problem::{ErrorKind, WorkflowError};

/// The canonical name of a status code (`UNAVAILABLE`).
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The HTTP status a gRPC code maps to.
pub(crate) fn http_status(code: Code) -> u16 {
    match code {
        Code::InvalidArgument => 400,
        Code::Unauthenticated => 401,
        Code::PermissionDenied => 403,
        Code::NotFound => 404,
        Code::AlreadyExists => 409,
        Code::ResourceExhausted => 429,
        Code::Unimplemented => 501,
        Code::Unavailable => 503,
        Code::DeadlineExceeded => 504,
        _ => 500,
    }
}

/// The error for a failed call of `call` (`pkg.Service/Method at host:port`). A deadline the
/// call itself set (the task's timeout) running out is a `timeout`, like the task timing out.
pub(crate) fn status_error(status: &Status, call: &str, had_deadline: bool) -> WorkflowError {
    let code = status.code();
    let message = status.message();
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    if code == Code::DeadlineExceeded && had_deadline {
        return WorkflowError::new(ErrorKind::Timeout, "Task timed out").with_detail(format!(
            "DEADLINE_EXCEEDED{said} (the task's timeout, calling {call})"
        ));
    }
    WorkflowError::new(ErrorKind::Communication, "gRPC call failed")
        .with_status(http_status(code))
        .with_detail(format!("{}{said} (calling {call})", code_name(code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_http_statuses() {
        let cases = [
            (Code::InvalidArgument, 400),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::ResourceExhausted, 429),
            (Code::Unimplemented, 501),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
            (Code::Internal, 500),
            (Code::FailedPrecondition, 500),
            (Code::Unknown, 500),
        ];
        for (code, status) in cases {
            let error = status_error(&Status::new(code, "why"), "a.B/C at h:1", false);
            assert_eq!(error.status, status, "{code:?}");
            assert_eq!(error.type_, ErrorKind::Communication.type_uri());
            assert_eq!(
                error.detail.as_deref(),
                Some(format!("{}: why (calling a.B/C at h:1)", code_name(code)).as_str())
            );
        }
    }

    #[test]
    fn our_own_deadline_is_a_timeout() {
        let error = status_error(&Status::deadline_exceeded(""), "a.B/C at h:1", true);
        assert_eq!(error.type_, ErrorKind::Timeout.type_uri());
        assert_eq!(error.status, 408);
    }
}
