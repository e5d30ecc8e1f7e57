//! The API's error policy: every refusal is a JSON body
//! `{"error": "<code>", "message": "<what is wrong>"}` with a 4xx status
//! that says whose fault it is. Only a fault of ours is a 500, and its
//! body says nothing about the internals; the detail goes to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::journal::JournalError;
use crate::people::users::PeopleError;
use crate::registry::RegistryError;

#[derive(Debug)]
pub enum ApiError {
    /// No token, or not a live one: 401.
    Unauthorized(String),
    /// A live token whose role may not do this: 403.
    Forbidden(String),
    /// The request is malformed or breaks a rule: 400 (or the status an
    /// extractor chose, e.g. 415 for a body that is not JSON).
    BadRequest(StatusCode, String),
    NotFound(String),
    Conflict(String),
    /// A dependency is down (readiness): 503.
    Unavailable(String),
    /// A refusal with a code of its own, which the page translates
    /// (`login_failed`, `password_weak`, `plate_invalid`…).
    Coded(StatusCode, &'static str, String),
    /// A username locked out after failed sign-ins: 429 with
    /// `Retry-After` (seconds).
    Locked(u64),
    /// Our fault: logged, answered with a bare 500.
    Unexpected(String),
}

impl ApiError {
    pub fn bad(message: impl Into<String>) -> Self {
        ApiError::BadRequest(StatusCode::BAD_REQUEST, message.into())
    }

    pub fn coded(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Coded(status, code, message.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::Locked(secs) => Some(*secs),
            _ => None,
        };
        let (status, code, message) = match self {
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
            ApiError::BadRequest(s, m) => (s, "bad_request", m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
            ApiError::Coded(s, code, m) => (s, code, m),
            ApiError::Locked(secs) => (
                StatusCode::TOO_MANY_REQUESTS,
                "locked_out",
                format!("too many failed sign-ins for this username; try again in {secs} s"),
            ),
            ApiError::Unexpected(detail) => {
                tracing::error!(%detail, "request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; see the server log".to_owned())
            }
        };
        let mut response = (status, Json(serde_json::json!({ "error": code, "message": message }))).into_response();
        if let Some(secs) = retry_after {
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"lot-server\""),
            );
        }
        response
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match e {
            RegistryError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            RegistryError::Invalid(m) => ApiError::bad(m),
            RegistryError::Conflict(m) => ApiError::Conflict(m),
            RegistryError::Short(m) => ApiError::Coded(StatusCode::CONFLICT, "balance_short", m),
            RegistryError::NoPassPrice(m) => ApiError::Coded(StatusCode::BAD_REQUEST, "no_pass_price", m),
            RegistryError::Db(e) => db_error(e),
        }
    }
}

impl From<PeopleError> for ApiError {
    fn from(e: PeopleError) -> Self {
        match e {
            PeopleError::Invalid(code, m) => ApiError::Coded(StatusCode::BAD_REQUEST, code, m),
            PeopleError::NotFound(_) => ApiError::NotFound(e.to_string()),
            PeopleError::Conflict(m) => ApiError::Coded(StatusCode::CONFLICT, "username_taken", m),
            PeopleError::Db(e) => db_error(e),
        }
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> Self {
        match e {
            JournalError::Invalid(m) => ApiError::bad(m),
            JournalError::NotFound(m) => ApiError::NotFound(m),
            JournalError::Conflict(m) => ApiError::Conflict(m),
            JournalError::Db(e) => db_error(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        db_error(e)
    }
}

/// A database error: the client's when its text cannot be stored (a NUL
/// byte, which PostgreSQL refuses in text: SQLSTATE 22021 or 22P05),
/// ours otherwise.
fn db_error(e: sqlx::Error) -> ApiError {
    if let sqlx::Error::Database(d) = &e {
        if matches!(d.code().as_deref(), Some("22021" | "22P05")) {
            return ApiError::bad("text may not contain NUL bytes or characters the database cannot store");
        }
    }
    ApiError::Unexpected(e.to_string())
}

impl From<crate::settlement::records::QueryError> for ApiError {
    fn from(e: crate::settlement::records::QueryError) -> Self {
        match e {
            crate::settlement::records::QueryError::Invalid(m) => ApiError::bad(m),
            crate::settlement::records::QueryError::Db(e) => db_error(e),
        }
    }
}

impl From<crate::settlement::ResolveError> for ApiError {
    fn from(e: crate::settlement::ResolveError) -> Self {
        match e {
            crate::settlement::ResolveError::NotFound(m) => ApiError::NotFound(format!("transfer {m} not found")),
            crate::settlement::ResolveError::Conflict(m) => ApiError::Conflict(m),
            crate::settlement::ResolveError::Db(e) => db_error(e),
        }
    }
}
