//! A whatsapp-web.js bridge double on loopback: `GET /status` and `POST /send-message` in the
//! bridge's HTTP shape, recording what a patient would receive.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the bridge double answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Ready,
    /// `/status` says it is not ready (the phone is not linked yet).
    NotReady,
    /// `/send-message` answers 503.
    Unavailable,
}

#[derive(Default)]
pub struct Bridge {
    pub mode: Option<Mode>,
    /// Messages accepted, in order: (to, message).
    pub received: Vec<(String, String)>,
    /// Requests to `/send-message` refused while unavailable.
    pub refused: usize,
    /// Hold the response to the n-th accepted message (1-based) this long.
    pub hold: Option<(usize, Duration)>,
    /// Set when a held request has arrived.
    pub holding: bool,
    /// How long every accepted message takes to answer (a phone's round trip).
    pub latency: Duration,
}

pub type Shared = Arc<Mutex<Bridge>>;

async fn status(State(bridge): State<Shared>) -> Json<Value> {
    let mode = bridge.lock().expect("lock").mode.unwrap_or(Mode::Ready);
    Json(json!({ "status": if mode == Mode::NotReady { "qr" } else { "ready" } }))
}

async fn send_message(
    State(bridge): State<Shared>,
    Json(body): Json<Value>,
) -> (axum::http::StatusCode, Json<Value>) {
    let hold = {
        let mut bridge = bridge.lock().expect("lock");
        if bridge.mode == Some(Mode::Unavailable) {
            bridge.refused += 1;
            return (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "client restarting" })),
            );
        }
        let to = body["to"].as_str().unwrap_or_default().to_owned();
        let message = body["message"].as_str().unwrap_or_default().to_owned();
        bridge.received.push((to.clone(), message));
        let count = bridge.received.len();
        let hold = match bridge.hold {
            Some((nth, duration)) if nth == count => {
                bridge.holding = true;
                Some(duration)
            }
            _ => None,
        };
        // whatsapp-web.js serialises a sent message's id like this.
        (hold, format!("true_{to}@c.us_3EB0BRIDGE{count}"))
    };
    let (hold, id) = hold;
    let latency = bridge.lock().expect("lock").latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(duration) = hold {
        tokio::time::sleep(duration).await;
    }
    (
        axum::http::StatusCode::OK,
        Json(json!({ "success": true, "messageId": id })),
    )
}

pub async fn start_bridge() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route("/status", get(status))
        .route("/send-message", post(send_message))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), shared)
}
