//! The site's static files (`/pkg/...`, `/assets/...`) compressed once, at the highest level,
//! instead of on every request.
//!
//! Compressing the WASM bundle on the fly costs seconds of CPU per download at Brotli's best
//! level, and a faster level makes every phone download more. So at start, a background task
//! compresses each compressible file (Brotli 11 and gzip 9) into memory, and this middleware
//! serves those bytes to clients that accept them, with an `ETag` so a revisit costs a `304`.
//! A file changed on disk since (`cargo leptos watch` rebuilding) or not compressed yet goes
//! through the usual file service, compressed on the fly as before.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{
    ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, RANGE, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Files smaller than this gain nothing from compression.
const MIN_SIZE: u64 = 1024;

/// Files larger than this (a debug build's WASM) are left to on-the-fly compression.
const MAX_SIZE: u64 = 8 * 1024 * 1024;

/// The folders of the site root that are served as files.
const FOLDERS: [&str; 2] = ["pkg", "assets"];

/// One file's compressed forms and what identifies the version they were made from.
struct Compressed {
    modified: SystemTime,
    len: u64,
    content_type: &'static str,
    etag: HeaderValue,
    brotli: Bytes,
    gzip: Bytes,
}

/// The site's compressed files, by URL path.
pub struct Precompressed {
    root: PathBuf,
    files: RwLock<HashMap<String, Arc<Compressed>>>,
}

/// The content type of the file types worth compressing; others are served as they are.
fn compressible(path: &Path) -> Option<&'static str> {
    Some(match path.extension()?.to_str()? {
        "wasm" => "application/wasm",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        "html" => "text/html; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

fn version(metadata: &std::fs::Metadata) -> Option<(SystemTime, u64)> {
    Some((metadata.modified().ok()?, metadata.len()))
}

fn compress(bytes: &[u8]) -> std::io::Result<(Bytes, Bytes)> {
    let mut brotli = Vec::with_capacity(bytes.len() / 3);
    {
        let mut writer = brotli::CompressorWriter::new(&mut brotli, 64 * 1024, 11, 22);
        writer.write_all(bytes)?;
        writer.flush()?;
    }
    let mut gzip = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::best(),
    );
    gzip.write_all(bytes)?;
    Ok((Bytes::from(brotli), Bytes::from(gzip.finish()?)))
}

impl Precompressed {
    /// Serves files of `root` (the site root) once [`Self::compress_all`] has compressed them.
    fn new(root: PathBuf) -> Self {
        Self {
            root,
            files: RwLock::new(HashMap::new()),
        }
    }

    /// Serves files of `root` and starts compressing them on a thread of its own (not the
    /// runtime's blocking pool, so a shutdown never waits for it). Until a file is done it is
    /// compressed on the fly, as before.
    pub fn start(root: PathBuf) -> Arc<Self> {
        let files = Arc::new(Self::new(root));
        let compressing = files.clone();
        let spawned = std::thread::Builder::new()
            .name("precompress".into())
            .spawn(move || {
                let started = std::time::Instant::now();
                let count = compressing.compress_all();
                tracing::info!(
                    files = count,
                    took_ms = started.elapsed().as_millis() as u64,
                    "static files precompressed"
                );
            });
        if let Err(error) = spawned {
            tracing::warn!(%error, "static files will be compressed on every request instead");
        }
        files
    }

    /// Compresses every compressible file under the site's folders; returns how many.
    /// Blocking and CPU-heavy (seconds for a release WASM bundle): run it off the async runtime.
    pub fn compress_all(&self) -> usize {
        let mut done = 0;
        let mut pending: Vec<PathBuf> = FOLDERS.iter().map(|dir| self.root.join(dir)).collect();
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if self.compress_file(&path) {
                    done += 1;
                }
            }
        }
        done
    }

    fn compress_file(&self, path: &Path) -> bool {
        let Some(content_type) = compressible(path) else {
            return false;
        };
        let Some(url) = path
            .strip_prefix(&self.root)
            .ok()
            .and_then(|relative| relative.to_str())
            .map(|relative| format!("/{}", relative.replace('\\', "/")))
        else {
            return false;
        };
        let Some((modified, len)) = std::fs::metadata(path).ok().as_ref().and_then(version) else {
            return false;
        };
        if !(MIN_SIZE..=MAX_SIZE).contains(&len) {
            return false;
        }
        let compressed = std::fs::read(path).and_then(|bytes| {
            // Read and stat may straddle a rebuild: keep only what matches the stat.
            if bytes.len() as u64 != len {
                return Err(std::io::Error::other("the file changed while read"));
            }
            compress(&bytes)
        });
        let (brotli, gzip) = match compressed {
            Ok(compressed) => compressed,
            Err(error) => {
                tracing::warn!(%error, file = %path.display(), "not precompressed");
                return false;
            }
        };
        let stamp = modified
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|since| since.as_nanos())
            .unwrap_or_default();
        let Ok(etag) = HeaderValue::from_str(&format!("\"{len:x}-{stamp:x}\"")) else {
            return false;
        };
        if let Ok(mut files) = self.files.write() {
            files.insert(
                url,
                Arc::new(Compressed {
                    modified,
                    len,
                    content_type,
                    etag,
                    brotli,
                    gzip,
                }),
            );
        }
        true
    }

    fn get(&self, url: &str) -> Option<Arc<Compressed>> {
        self.files.read().ok()?.get(url).cloned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

/// The best encoding `accept` allows (`br` before `gzip`; `q=0` refuses one).
fn preferred(accept: &str) -> Option<Encoding> {
    let allows = |name: &str| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|param| {
                param
                    .trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            coding.eq_ignore_ascii_case(name) && !refused
        })
    };
    if allows("br") {
        Some(Encoding::Brotli)
    } else if allows("gzip") {
        Some(Encoding::Gzip)
    } else {
        None
    }
}

/// Middleware: answers a static file from [`Precompressed`] when the client accepts one of its
/// encodings and the file on disk is still the one compressed; otherwise passes the request on.
pub async fn serve(
    State(files): State<Arc<Precompressed>>,
    request: Request,
    next: Next,
) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD)
        || request.headers().contains_key(RANGE)
    {
        return next.run(request).await;
    }
    let Some(file) = files.get(request.uri().path()) else {
        return next.run(request).await;
    };
    let Some(encoding) = request
        .headers()
        .get(ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .and_then(preferred)
    else {
        return next.run(request).await;
    };
    let on_disk = files
        .root
        .join(request.uri().path().trim_start_matches('/'));
    let current = tokio::fs::metadata(&on_disk)
        .await
        .ok()
        .as_ref()
        .and_then(version);
    if current != Some((file.modified, file.len)) {
        return next.run(request).await;
    }
    let not_modified = request
        .headers()
        .get_all(IF_NONE_MATCH)
        .iter()
        .any(|tag| tag == file.etag);
    let (body, coding) = match encoding {
        Encoding::Brotli => (file.brotli.clone(), "br"),
        Encoding::Gzip => (file.gzip.clone(), "gzip"),
    };
    let mut response = if not_modified {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else if request.method() == Method::HEAD {
        Response::new(Body::empty())
    } else {
        Response::new(Body::from(body))
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding));
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(ETAG, file.etag.clone());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brotli_is_preferred_and_a_refused_encoding_is_not_used() {
        assert_eq!(preferred("gzip, deflate, br, zstd"), Some(Encoding::Brotli));
        assert_eq!(preferred("gzip"), Some(Encoding::Gzip));
        assert_eq!(preferred("br;q=0, gzip;q=0.5"), Some(Encoding::Gzip));
        assert_eq!(preferred("identity"), None);
        assert_eq!(preferred(""), None);
    }

    #[test]
    fn compressed_forms_decompress_to_the_file() {
        let text = "نبض dashboard ".repeat(500);
        let (brotli, gzip) = compress(text.as_bytes()).expect("compresses");
        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(&mut &brotli[..], &mut unbrotli).expect("brotli");
        assert_eq!(unbrotli, text.as_bytes());
        let mut ungzip = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut ungzip)
            .expect("gzip");
        assert_eq!(ungzip, text);
        assert!(brotli.len() < text.len() / 10);
    }
}
