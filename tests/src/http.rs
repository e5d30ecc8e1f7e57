//! Loopback HTTP/1.1 for tests against our own servers: a request with an
//! optional bearer token and JSON body, its status, head and body (text,
//! or bytes for an image).

/// A plain HTTP/1.1 GET on loopback; the body, if the server answered.
pub async fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path, None, None).await.map(|(_, body)| body)
}

/// A call to the lot server's API that must succeed; its JSON answer. A
/// test helper: any failure is the test's assertion.
#[allow(clippy::expect_used, clippy::panic)]
pub async fn api(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let body = body.map(|b| b.to_string());
    let (status, text) = http(port, method, path, Some(token), body.as_deref()).await.expect("the server answers");
    assert!((200..300).contains(&status), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

/// One HTTP/1.1 request on loopback (`Connection: close`), with an
/// optional bearer token and JSON body; the status and body, if the server
/// answered. Enough for tests against our own servers, which answer with
/// a `Content-Length` or close the connection.
pub async fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> Option<(u16, String)> {
    let (status, _, body) = with_token(port, method, path, token, json).await?;
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

/// [`http`] with any headers (a provider's signed notification, say).
pub async fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
) -> Option<(u16, String)> {
    http_full(port, method, path, headers, json).await.map(|(status, _, body)| (status, body))
}

/// [`http_with`], with the response's head (status line and headers) too.
pub async fn http_full(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
) -> Option<(u16, String, String)> {
    let (status, head, body) = http_raw(port, method, path, headers, json).await?;
    Some((status, head, String::from_utf8_lossy(&body).into_owned()))
}

/// A GET whose answer is bytes (an image), with an optional bearer token:
/// the status and the body.
pub async fn http_bytes(port: u16, path: &str, token: Option<&str>) -> Option<(u16, Vec<u8>)> {
    with_token(port, "GET", path, token, None).await.map(|(status, _, body)| (status, body))
}

/// [`http_raw`] with an optional bearer token.
async fn with_token(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> Option<(u16, String, Vec<u8>)> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    http_raw(port, method, path, &headers, json).await
}

/// One request; the status, the head and the body as bytes.
async fn http_raw(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: Option<&str>,
) -> Option<(u16, String, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = json.unwrap_or("");
    if json.is_some() {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.ok()?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head, buf[end + 4..].to_vec()))
}
