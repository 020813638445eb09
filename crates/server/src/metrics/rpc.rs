//! A tower layer on the gRPC server that counts every call and times it, by
//! method and status. The time is until the response headers: the whole call
//! for unary methods, the stream's opening for streams (their end is counted by
//! the sync figures instead).
//!
//! The method label comes from a fixed set of service prefixes, and calls the
//! router answered UNIMPLEMENTED are labelled "unknown", so a caller cannot
//! grow the label set by inventing paths. This layer must never read or hold
//! request bodies.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tonic::codegen::http;
use tower::{Layer, Service};

/// Services whose methods are labelled by name.
const SERVICES: [&str; 5] = [
    "/liaison.v1.Analyst/",
    "/liaison.v1.Admin/",
    "/liaison.v1.Federation/",
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
];

/// Adds call counts and latency histograms to the wrapped service.
#[derive(Clone, Copy, Debug, Default)]
pub struct RpcMetricsLayer;

impl<S> Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;
    fn layer(&self, inner: S) -> RpcMetrics<S> {
        RpcMetrics { inner }
    }
}

#[derive(Clone, Debug)]
pub struct RpcMetrics<S> {
    inner: S,
}

/// The method label for a request path: `/package.Service/Method` for known
/// services with a plausible method name, else "unknown".
fn method_label(path: &str) -> String {
    let known = SERVICES.iter().any(|service| {
        path.strip_prefix(service).is_some_and(|method| {
            !method.is_empty()
                && method.len() <= 64
                && method.chars().all(|c| c.is_ascii_alphanumeric())
        })
    });
    match known {
        true => path.to_string(),
        false => "unknown".into(),
    }
}

/// The gRPC status of a response: from its headers when the call failed before
/// any message (trailers-only), else OK at this point.
fn status_label(headers: &http::HeaderMap) -> tonic::Code {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map(tonic::Code::from_i32)
        .unwrap_or(tonic::Code::Ok)
}

impl<S, B, R> Service<http::Request<B>> for RpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let mut method = method_label(request.uri().path());
        let started = Instant::now();
        let call = self.inner.call(request);
        Box::pin(async move {
            let result = call.await;
            let status = match &result {
                Ok(response) => status_label(response.headers()),
                Err(_) => tonic::Code::Internal,
            };
            if status == tonic::Code::Unimplemented {
                method = "unknown".into();
            }
            super::rpc_finished(method, format!("{status:?}"), started.elapsed());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_services_name_their_method() {
        assert_eq!(
            method_label("/liaison.v1.Analyst/Search"),
            "/liaison.v1.Analyst/Search"
        );
        assert_eq!(method_label("/liaison.v1.Analyst/"), "unknown");
        assert_eq!(method_label("/evil.Service/Anything"), "unknown");
        assert_eq!(method_label("/liaison.v1.Admin/a%20b"), "unknown");
    }

    #[test]
    fn status_comes_from_a_trailers_only_response() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(status_label(&headers), tonic::Code::Ok);
        headers.insert("grpc-status", http::HeaderValue::from_static("7"));
        assert_eq!(status_label(&headers), tonic::Code::PermissionDenied);
    }
}
