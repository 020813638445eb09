//! HTTP errors as TAXII 2.1 error messages (`title`, `description`,
//! `http_status`), the shape the MISP feed uses too. Owns the status each
//! failure gets; must never put internal details (paths, storage errors) in a
//! response body: those go to the log.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use liaison_node::limits::RateLimited;
use liaison_store::store::StoreError;

/// The TAXII 2.1 media type of every TAXII response.
pub const TAXII_MEDIA: &str = "application/taxii+json;version=2.1";

/// A refused or failed HTTP request.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {description}")]
pub struct HttpError {
    pub status: StatusCode,
    pub title: &'static str,
    /// `field: reason` for bad input.
    pub description: String,
}

impl HttpError {
    pub fn bad_request(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Bad request",
            format!("{field}: {reason}"),
        )
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", what.into())
    }

    pub fn forbidden(why: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", why.into())
    }

    pub fn not_acceptable(accept: &str) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!("Accept: {accept:?} is not served here; ask for {TAXII_MEDIA}"),
        )
    }

    /// A failure on our side: logged in full, answered without details.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "HTTP request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "the node could not answer; see its log".into(),
        )
    }

    fn new(status: StatusCode, title: &'static str, description: String) -> Self {
        HttpError {
            status,
            title,
            description,
        }
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        HttpError::internal(e)
    }
}

impl From<RateLimited> for HttpError {
    fn from(e: RateLimited) -> Self {
        HttpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            e.to_string(),
        )
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_str(),
        });
        let mut response = (self.status, body.to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA));
        response
    }
}
