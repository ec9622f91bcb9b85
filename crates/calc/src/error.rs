//! The calc module's errors and their single mapping to gRPC status codes (STYLE R5).

use std::time::Duration;

use crate::limits::MAX_VALUES;

/// What can go wrong serving a calc call.
#[derive(Debug, thiserror::Error)]
pub enum CalcError {
    /// OUT_OF_RANGE: the sum does not fit in a 64-bit integer.
    #[error("{a} + {b} overflows a 64-bit integer")]
    Overflow {
        /// The first operand.
        a: i64,
        /// The second operand.
        b: i64,
    },
    /// INVALID_ARGUMENT: an `n` outside `1..=max_n`.
    #[error("n = {n} is out of range: n must be from 1 to {max_n}")]
    InvalidN {
        /// The value sent.
        n: u64,
        /// The configured maximum (`FERRUM_CALC_MAX_N`).
        max_n: u64,
    },
    /// INVALID_ARGUMENT: more values in one call than [`MAX_VALUES`].
    #[error("{count} values in one call: at most {MAX_VALUES} are allowed")]
    TooManyValues {
        /// How many values the call carried.
        count: usize,
    },
    /// DEADLINE_EXCEEDED: the client's deadline or the server's request timeout passed first.
    #[error("the call did not finish within its deadline of {}", humanize(*.0))]
    DeadlineExceeded(Duration),
    /// INTERNAL: the computation died (a panic in a worker thread).
    #[error("the computation failed")]
    ComputationFailed,
}

impl From<CalcError> for tonic::Status {
    fn from(error: CalcError) -> Self {
        let message = error.to_string();
        match error {
            CalcError::Overflow { .. } => Self::out_of_range(message),
            CalcError::InvalidN { .. } | CalcError::TooManyValues { .. } => Self::invalid_argument(message),
            CalcError::DeadlineExceeded(_) => Self::deadline_exceeded(message),
            CalcError::ComputationFailed => Self::internal(message),
        }
    }
}

/// `1.5s`, `250ms`, `80µs`: a deadline as people write it.
fn humanize(duration: Duration) -> String {
    match duration.as_micros() {
        0..1_000 => format!("{}µs", duration.as_micros()),
        1_000..1_000_000 => format!("{}ms", duration.as_millis()),
        _ => format!("{}s", duration.as_secs_f64()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn each_error_has_its_code_and_names_its_values() {
        let cases = [
            (CalcError::Overflow { a: i64::MAX, b: 1 }, Code::OutOfRange, "9223372036854775807 + 1"),
            (CalcError::InvalidN { n: 0, max_n: 10 }, Code::InvalidArgument, "n = 0"),
            (CalcError::TooManyValues { count: 10_001 }, Code::InvalidArgument, "10001 values"),
            (CalcError::DeadlineExceeded(Duration::from_millis(250)), Code::DeadlineExceeded, "250ms"),
            (CalcError::ComputationFailed, Code::Internal, "failed"),
        ];
        for (error, code, text) in cases {
            let status = tonic::Status::from(error);
            assert_eq!(status.code(), code, "{status:?}");
            assert!(status.message().contains(text), "{status:?} lacks {text}");
        }
    }

    #[test]
    fn deadlines_read_naturally() {
        assert_eq!(humanize(Duration::from_micros(80)), "80µs");
        assert_eq!(humanize(Duration::from_millis(3)), "3ms");
        assert_eq!(humanize(Duration::from_millis(1500)), "1.5s");
    }
}
