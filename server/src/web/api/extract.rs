//! The JSON API's extractors: axum's `Json`, `Query` and `Path`, whose refusals (a body that is
//! not JSON, a field of the wrong type, a query or path segment that does not parse) answer with
//! the API's error body, `{"error": "bad_request", "message": ...}`, and axum's status (400,
//! 415 or 422), instead of plain text.

use crate::web::session::AdminError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};

/// A JSON request body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AdminError))]
pub struct Body<T>(pub T);

/// A query string.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AdminError))]
pub struct Params<T>(pub T);

/// The path's parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AdminError))]
pub struct Segment<T>(pub T);

impl From<JsonRejection> for AdminError {
    fn from(rejection: JsonRejection) -> Self {
        Self::BadRequest(rejection.status(), rejection.body_text())
    }
}

impl From<QueryRejection> for AdminError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for AdminError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.status(), rejection.body_text())
    }
}
