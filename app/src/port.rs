//! The scaffolding every app<->server port shares, written once.
//!
//! `app` cannot depend on `server`, so each feature whose server functions need the server's
//! services defines a small trait (a port) behind `ssr`; the server implements it and puts it in
//! Leptos's context as a [`Port`]. A server function takes the request and its port with
//! [`request_and`], calls it and returns the feature's error, which is a [`PageError`]: a
//! closed set of refusals the page translates, plus one variant for the unexpected whose
//! details stay in the server's log.

/// An error a page shows in its language. Every one has a variant for the unexpected, which
/// leptos's own failures (a broken connection, an undecodable answer) become.
pub trait PageError: Sized {
    /// Wraps a failure that is not the user's to fix; `detail` is not meant for the page.
    fn unexpected(detail: String) -> Self;
}

/// The HTTP status a refusal answers with, as the JSON API's would: 401 without a session, 403
/// for a role that may not, 404, 409, 413, 422 for input that is not valid, 500 only for the
/// unexpected (so that monitoring does not count attacks and typos as server errors).
pub trait Refused {
    fn status(&self) -> http::StatusCode;
}

/// What a page error says when the server logged the cause instead of sending it.
pub const LOGGED: &str = "something went wrong; it was logged";

/// Makes a page's error enum (with an `Unexpected(String)` variant, and `Display` from
/// `thiserror`) a [`PageError`] that travels as JSON between a server function and its page.
#[macro_export]
macro_rules! page_error {
    ($error:ty) => {
        impl $crate::port::PageError for $error {
            fn unexpected(detail: String) -> Self {
                Self::Unexpected(detail)
            }
        }

        impl leptos::server_fn::error::FromServerFnError for $error {
            type Encoder = leptos::server_fn::codec::JsonEncoding;

            fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
                <$error as $crate::port::PageError>::unexpected(value.to_string())
            }
        }
    };
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use super::PageError;
    use std::pin::Pin;
    use std::sync::Arc;

    /// The future a port's call returns.
    pub type PortFuture<'a, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'a>>;

    /// A port in Leptos's context: `Port<dyn DashboardSource>`, `Port<dyn AdminSource>`, ...
    pub struct Port<P: ?Sized>(pub Arc<P>);

    impl<P: ?Sized> Clone for Port<P> {
        fn clone(&self) -> Self {
            Self(Arc::clone(&self.0))
        }
    }

    impl<P: ?Sized> Port<P> {
        /// Wraps the server's implementation of a port.
        pub fn new(port: Arc<P>) -> Self {
            Self(port)
        }
    }

    /// Returns the port `P` the server provided, or `E`'s unexpected error when it did not.
    pub fn port<P: ?Sized + Send + Sync + 'static, E: PageError>() -> Result<Arc<P>, E> {
        leptos::prelude::use_context::<Port<P>>()
            .map(|port| port.0)
            .ok_or_else(|| E::unexpected("the server did not provide this feature".to_owned()))
    }

    /// Returns `result`, after setting the response's status to its refusal's when it is one
    /// and the server function was called over HTTP (`/api/...`). Called while the server
    /// renders a page, a refusal is part of the page, which still answers 200.
    pub fn answer<T, E: super::Refused>(result: Result<T, E>) -> Result<T, E> {
        let called = leptos::prelude::use_context::<http::request::Parts>()
            .is_some_and(|parts| parts.uri.path().starts_with("/api/"));
        if let Err(error) = &result
            && called
            && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        {
            response.set_status(error.status());
        }
        result
    }

    /// Returns the request a server function answers and the port `P`.
    pub fn request_and<P: ?Sized + Send + Sync + 'static, E: PageError>()
    -> Result<(http::request::Parts, Arc<P>), E> {
        let parts = leptos::prelude::use_context::<http::request::Parts>()
            .ok_or_else(|| E::unexpected("no request".to_owned()))?;
        Ok((parts, port::<P, E>()?))
    }
}
