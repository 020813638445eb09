//! A `multipart/form-data` body (the Import page's upload) read into its text
//! fields and its file. The guard calls it after capping the body's size and
//! before checking the form's CSRF token.
//!
//! Reading only: it must never act on what it reads, nor read a body the guard
//! has not already limited.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};

use super::form::Fields;

/// A multipart upload: the form's text fields and the file.
#[derive(Clone)]
pub struct Upload {
    pub fields: Fields,
    pub file_name: String,
    pub file: Bytes,
}

/// Reads a buffered `multipart/form-data` body (the guard has already capped
/// its size).
pub async fn read_upload(request: Request) -> Result<Upload, String> {
    let mut multipart = axum::extract::Multipart::from_request(request, &())
        .await
        .map_err(|e| format!("the upload is not a readable form: {e}"))?;
    let mut upload = Upload {
        fields: Fields::default(),
        file_name: String::new(),
        file: Bytes::new(),
    };
    let mut pairs = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("the upload is not a readable form: {e}"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("the upload ended early: {e}"))?;
        match (name.as_str(), file_name) {
            ("file", Some(file_name)) => {
                upload.file_name = file_name;
                upload.file = bytes;
            }
            _ => pairs.push((name, String::from_utf8_lossy(&bytes).into_owned())),
        }
    }
    upload.fields = Fields::from_pairs(pairs);
    Ok(upload)
}
