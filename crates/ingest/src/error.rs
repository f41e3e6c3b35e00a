//! The crate's error types: one for lines that do not parse, one for inputs.

/// Why a line did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The line is empty or only whitespace.
    #[error("empty line")]
    Empty,
    /// The client address is not an IPv4 or IPv6 address.
    #[error("bad address")]
    BadAddress,
    /// The timestamp is missing or malformed.
    #[error("bad timestamp")]
    BadTimestamp,
    /// The request field is missing or not quoted.
    #[error("bad request field")]
    BadRequestField,
    /// The status is not a number (nor `-`).
    #[error("bad status")]
    BadStatus,
    /// The response size is not a number (nor `-`).
    #[error("bad size")]
    BadSize,
    /// A quoted field has no closing quote (often a truncated line).
    #[error("unterminated quote")]
    UnterminatedQuote,
    /// The line is not a JSON object.
    #[error("bad JSON")]
    BadJson,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// The line is longer than [`crate::MAX_PARSE_LINE`].
    #[error("line too long")]
    TooLong,
}

/// A line that did not parse: what went wrong and where (1-based byte column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at column {column}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// 1-based byte column where the problem was found.
    pub column: usize,
}

impl ParseError {
    /// Builds an error at a 0-based byte index (stored as a 1-based column).
    pub(crate) fn at(kind: ParseErrorKind, index: usize) -> ParseError {
        ParseError {
            kind,
            column: index + 1,
        }
    }
}

/// What kind of input failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputErrorKind {
    /// The input could not be opened.
    Open,
    /// Reading failed (I/O error or corrupt compressed data).
    Read,
    /// A compressed stream ended before its end marker (e.g. a file still being written).
    Truncated,
}

/// An input that could not be opened or read, naming the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct InputError {
    /// The path (or `-` for stdin, or the name given to the reader).
    pub name: String,
    /// What went wrong, in words.
    pub message: String,
    /// The kind of failure.
    pub kind: InputErrorKind,
}

impl InputError {
    /// True when a compressed stream was cut short; data before the cut was delivered.
    pub fn is_truncated(&self) -> bool {
        self.kind == InputErrorKind::Truncated
    }

    /// Converts an I/O error from a reader, keeping a wrapped `InputError` as it is.
    pub(crate) fn from_io(name: &str, e: std::io::Error) -> InputError {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<InputError>()) {
            return inner.clone();
        }
        InputError {
            name: name.to_string(),
            message: e.to_string(),
            kind: InputErrorKind::Read,
        }
    }
}
