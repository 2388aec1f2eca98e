//! The limits on metadata fields and the error that names the field at fault: shared by every
//! part of the manifest's input checks (metadata, webhook assets), so none depends on another's.

pub const MAX_NAME: usize = 255;
pub const MAX_MESSAGE: usize = 10_000;
pub const MAX_TEXT: usize = 10_000;
pub const MAX_URL: usize = 2_048;
pub const MAX_LIST: usize = 100;

/// A metadata problem, with the JSON path of the field at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}
