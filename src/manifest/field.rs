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

/// An optional label or slot id: at most [`MAX_NAME`] characters.
pub(super) fn check_label(v: &Option<String>, field: &str) -> Result<(), FieldError> {
    match v {
        Some(s) if s.chars().count() > MAX_NAME => Err(FieldError::new(
            field,
            format!("at most {MAX_NAME} characters"),
        )),
        _ => Ok(()),
    }
}

/// A required name, trimmed: not empty, at most [`MAX_NAME`] characters.
pub(super) fn check_name(name: &str, field: &str) -> Result<String, FieldError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(FieldError::new(field, "name is required"));
    }
    if name.chars().count() > MAX_NAME {
        return Err(FieldError::new(
            field,
            format!("at most {MAX_NAME} characters"),
        ));
    }
    Ok(name.to_owned())
}
