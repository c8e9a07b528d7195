//! HTTP/1.x wire format: request heads, request bodies (length / chunked).
pub mod body;
pub mod request;
pub mod response;
