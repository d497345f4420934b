//! Tessera's HTTP API: privacyIDEA's REST endpoints over axum. Handlers parse (`Input`), authorize
//! (`AdminAuth`), call `tessera_core::Tessera` and answer privacyIDEA's envelope (`Reply`, `ApiError`).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod audit;
pub mod auth;
pub mod caller;
pub mod client;
pub mod error;
mod fallback;
pub mod jwt;
pub mod params;
pub mod state;

// lead: handler modules
pub mod policy;
pub mod realm;
pub mod resolver;
pub mod system;
pub mod token;
mod token_load;
pub mod user;
mod user_login;
pub mod validate;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;

pub use auth::AdminAuth;
pub use error::{ApiError, Reply};
pub use jwt::Claims;
pub use params::{BODY_LIMIT, Input};
pub use state::AppState;

/// The whole API: every endpoint group, JSON answers for unknown paths and methods, the body limit,
/// and a debug-level log line per request.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(auth::routes())
        // lead: handler routes
        .merge(token::routes())
        .merge(token_load::routes())
        .merge(validate::routes())
        .merge(realm::routes())
        .merge(resolver::routes())
        .merge(user::routes())
        .merge(system::routes())
        .merge(policy::routes())
        .merge(audit::routes());
    // Outside the fallbacks, so unknown paths and methods are audited (and their answers signed) too.
    finish(routes)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            audit::audit_layer,
        ))
        .with_state(state)
}

/// Fallbacks, limits and logging around `routes`. Must come after every `merge`: the 405 fallback
/// applies to the routes present when it is set.
fn finish<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    routes
        .fallback(fallback::not_found)
        .method_not_allowed_fallback(fallback::method_not_allowed)
        .layer(middleware::from_fn(fallback::json_errors))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(log_request))
}

/// One `debug` line per request: method, path, status, microseconds. Free when debug logging is off
/// beyond reading the clock.
async fn log_request(req: Request, next: Next) -> Response {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return next.run(req).await;
    }
    let start = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let response = next.run(req).await;
    tracing::debug!(
        %method,
        path = uri.path(),
        status = response.status().as_u16(),
        micros = start.elapsed().as_micros() as u64,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{StatusCode, header};
    use axum::routing::post;
    use serde_json::Value;
    use tower::ServiceExt;

    /// The router's fallbacks around one POST-only route, as `router` assembles them.
    fn app() -> Router {
        finish(Router::new().route("/auth", post(|| async { "ok" })).route(
            "/policy/{name}",
            post(|axum::extract::Path(n): axum::extract::Path<String>| async move { n }),
        ))
    }

    async fn call(method: &str, uri: &str) -> (StatusCode, Option<String>, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = app().oneshot(req).await.unwrap();
        let status = response.status();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let allow = response
            .headers()
            .get(header::ALLOW)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, allow, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn unknown_path_is_a_json_404() {
        let (status, _, body) = call("GET", "/nonexistent/").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["result"]["status"], false);
        assert_eq!(body["result"]["error"]["code"], 404);
        assert_eq!(
            body["result"]["error"]["message"],
            "The requested URL /nonexistent/ was not found on the server."
        );
    }

    #[tokio::test]
    async fn wrong_method_is_a_json_405_with_allow() {
        // 06-auth-get-method: privacyIDEA answers 405 (in HTML)
        let (status, allow, body) = call("GET", "/auth").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(allow.as_deref(), Some("POST"));
        assert_eq!(body["result"]["error"]["code"], 405);
        assert_eq!(
            body["result"]["error"]["message"],
            "The method GET is not allowed for the requested URL /auth."
        );
        let (status, _, _) = call("DELETE", "/auth").await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn long_paths_are_cut_in_the_message() {
        let long = format!("/{}", "a".repeat(5000));
        let (_, _, body) = call("GET", &long).await;
        assert!(body["result"]["error"]["message"].as_str().unwrap().len() < 300);
    }

    #[tokio::test]
    async fn extractor_rejections_are_json_errors() {
        // A path segment that is not UTF-8: axum answers plain text; the client gets 400/905 JSON.
        let (status, _, body) = call("POST", "/policy/a%FFb").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["result"]["error"]["code"], 905);
        let message = body["result"]["error"]["message"].as_str().unwrap();
        assert!(message.starts_with("ERR905: Invalid URL"), "{message}");
    }
}
