//! The WhatsApp Business Platform provider and its webhook, against a Graph API double on
//! loopback that speaks the `/{phone-number-id}/messages` shape, and signed webhook deliveries
//! as Meta sends them.

mod common;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;

use hmac::{Hmac, KeyInit, Mac};
use nabd::messaging::outbox::{NewMessage, Outcome};
use nabd::messaging::{Kind, Language, Messaging};
use nabd::platform::phone::{Mobile, Region};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

const APP_SECRET: &str = "test-app-secret";
const VERIFY_TOKEN: &str = "verify-me-please";

#[derive(Default)]
struct Graph {
    requests: Vec<(String, Option<String>, Value)>,
    /// The next answer: an error code to fail with, or success.
    fail_with: Option<(u16, i64)>,
}

type Shared = Arc<Mutex<Graph>>;

async fn messages(
    State(graph): State<Shared>,
    Path(phone_number_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut graph = graph.lock().expect("lock");
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    graph.requests.push((phone_number_id, auth, body));
    if let Some((status, code)) = graph.fail_with.take() {
        return (
            StatusCode::from_u16(status).expect("status"),
            Json(
                json!({ "error": { "message": "refused", "type": "OAuthException", "code": code } }),
            ),
        );
    }
    let id = format!("wamid.TEST{}", graph.requests.len());
    (
        StatusCode::OK,
        Json(json!({ "messaging_product": "whatsapp", "messages": [{ "id": id }] })),
    )
}

struct App {
    base: String,
    messaging: Messaging,
    db: nabd::platform::store::Db,
    graph: Shared,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> App {
    let graph: Shared = Arc::default();
    let router = Router::new()
        .route("/v21.0/{id}/messages", post(messages))
        .with_state(graph.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let graph_addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });

    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}/nabd.db", dir.path().display());
    let graph_url = format!("http://{graph_addr}/v21.0");
    let (addr, state) = common::spawn_nabd_with_state(&[
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &db_url,
        "--jobs-enabled",
        "false",
        "--now",
        "2026-01-05T12:00",
        "--whatsapp-provider",
        "cloud-api",
        "--cloud-api-url",
        &graph_url,
        "--cloud-api-phone-number-id",
        "1234567890",
        "--cloud-api-token",
        "graph-token",
        "--cloud-api-app-secret",
        APP_SECRET,
        "--cloud-api-verify-token",
        VERIFY_TOKEN,
        "--cloud-api-templates",
        "reminder_confirmed=nabd_reminder_confirmed,campaign=nabd_comeback",
    ])
    .await;
    let messaging = state.messaging.clone();
    let db = state.db.clone();
    App {
        base: format!("http://{addr}"),
        messaging,
        db,
        graph,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl App {
    /// Queues a confirmed-appointment reminder to 0501234567 (sent as its approved template).
    async fn queue_reminder(&self) -> i64 {
        self.queue(
            Kind::Reminder,
            "0501234567",
            Some("reminder_confirmed"),
            &["a", "b", "c", "d"],
        )
        .await
    }

    async fn queue(&self, kind: Kind, to: &str, template: Option<&str>, params: &[&str]) -> i64 {
        let clock = self.messaging.outbox.clock();
        let message = NewMessage {
            kind,
            to: Mobile::parse(to, Region::default()).expect("valid"),
            body: "نص الرسالة".to_owned(),
            language: Language::Ar,
            template_key: template.map(str::to_owned),
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            key: format!(
                "{kind}:{to}:{}",
                Utc::now().timestamp_nanos_opt().unwrap_or(0)
            ),
            not_before: clock.real_now(),
            expires_at: None,
            clinic_day: clock.today(),
            batch: None,
            appointment_id: None,
            touch: None,
            campaign_patient_id: None,
            broadcast_id: None,
        };
        self.messaging
            .outbox
            .enqueue(&[message])
            .await
            .expect("queued")[0]
            .id
    }

    async fn webhook(&self, body: &Value, signature: Option<String>) -> StatusCode {
        let text = body.to_string();
        let mut request = self
            .client
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header("content-type", "application/json")
            .body(text);
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        request.send().await.expect("webhook answers").status()
    }

    async fn signed(&self, body: &Value) -> StatusCode {
        let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("key");
        mac.update(body.to_string().as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        self.webhook(body, Some(signature)).await
    }

    async fn row(&self, id: i64) -> (String, Option<String>, Option<String>, Option<String>) {
        nabd::db!(&self.db, fetch_one, sqlx::query_as(
            "SELECT state, provider_message_id, delivery_status, error FROM outbox WHERE id = $1",
        )
        .bind(id))
        .expect("row")
    }
}

fn statuses(reports: &[(&str, &str)]) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "statuses": reports.iter().map(|(id, status)| json!({
                "id": id, "status": status, "timestamp": "1767603600",
                "recipient_id": "966501234567"
            })).collect::<Vec<_>>()
        }}]}]
    })
}

fn inbound(from: &str, id: &str, text: &str) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "contacts": [{ "wa_id": from, "profile": { "name": "Patient" } }],
            "messages": [{ "from": from, "id": id,
                           "timestamp": Utc::now().timestamp().to_string(),
                           "type": "text", "text": { "body": text } }]
        }}]}]
    })
}

#[tokio::test]
async fn a_reminder_goes_as_the_approved_template_with_its_parameters_in_order() {
    let app = start().await;
    let id = app
        .queue(
            Kind::Reminder,
            "0501234567",
            Some("reminder_confirmed"),
            &["سارة", "الاثنين، 5 يناير 2026", "١:٣٠ م", "د. علي"],
        )
        .await;
    assert_eq!(
        app.messaging.outbox.deliver(id).await.expect("deliver"),
        Outcome::Sent
    );
    let (phone_id, auth, body) = app.graph.lock().expect("lock").requests[0].clone();
    assert_eq!(phone_id, "1234567890");
    assert_eq!(auth.as_deref(), Some("Bearer graph-token"));
    assert_eq!(body["to"], "966501234567");
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "nabd_reminder_confirmed");
    assert_eq!(body["template"]["language"]["code"], "ar");
    let params: Vec<&str> = body["template"]["components"][0]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| p["text"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(params, ["سارة", "الاثنين، 5 يناير 2026", "١:٣٠ م", "د. علي"]);
    let (state, wamid, delivery, _) = app.row(id).await;
    assert_eq!(
        (state.as_str(), wamid.as_deref(), delivery.as_deref()),
        ("sent", Some("wamid.TEST1"), Some("sent"))
    );
}

#[tokio::test]
async fn free_text_waits_for_the_reply_window_when_no_template_is_configured() {
    let app = start().await;
    let closed = app.queue(Kind::Broadcast, "0501234567", None, &[]).await;
    match app.messaging.outbox.deliver(closed).await.expect("deliver") {
        Outcome::Failed(reason) => {
            assert!(reason.contains("no approved template"), "{reason}");
            assert!(reason.contains("24 hours"), "{reason}");
        }
        other => panic!("expected a clear failure, got {other:?}"),
    }
    assert!(app.graph.lock().expect("lock").requests.is_empty());

    // The patient writes: for 24 hours the clinic may answer in free text.
    assert_eq!(
        app.signed(&inbound("966501234567", "wamid.IN1", "متى موعدي؟"))
            .await,
        StatusCode::OK
    );
    let open = app.queue(Kind::Manual, "0501234567", None, &[]).await;
    assert_eq!(
        app.messaging.outbox.deliver(open).await.expect("deliver"),
        Outcome::Sent
    );
    let body = app.graph.lock().expect("lock").requests[0].2.clone();
    assert_eq!(body["type"], "text");
    assert_eq!(body["text"]["body"], "نص الرسالة");
}

#[tokio::test]
async fn the_webhook_verifies_meta_and_refuses_unsigned_deliveries() {
    let app = start().await;
    let verify = |token: &str| {
        format!(
            "{}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            app.base
        )
    };
    let good = app
        .client
        .get(verify(VERIFY_TOKEN))
        .send()
        .await
        .expect("answers");
    assert_eq!(good.status(), StatusCode::OK);
    assert_eq!(good.text().await.expect("body"), "1158201444");
    let bad = app
        .client
        .get(verify("guess"))
        .send()
        .await
        .expect("answers");
    assert_eq!(bad.status(), StatusCode::FORBIDDEN);

    let body = statuses(&[("wamid.X", "read")]);
    assert_eq!(app.webhook(&body, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.webhook(&body, Some("sha256=00".to_owned())).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn delivery_reports_out_of_order_or_repeated_never_move_a_message_backwards() {
    let app = start().await;
    let id = app.queue_reminder().await;
    app.messaging.outbox.deliver(id).await.expect("deliver");
    let wamid = app.row(id).await.1.expect("wamid");
    for report in [
        vec![(wamid.as_str(), "read")],
        vec![(wamid.as_str(), "delivered")],
        vec![(wamid.as_str(), "read"), (wamid.as_str(), "sent")],
    ] {
        assert_eq!(app.signed(&statuses(&report)).await, StatusCode::OK);
    }
    assert_eq!(app.row(id).await.2.as_deref(), Some("read"));
    let events: i64 = nabd::db!(
        &app.db,
        fetch_one,
        sqlx::query_scalar("SELECT COUNT(*) FROM delivery_events WHERE provider_message_id = $1")
            .bind(&wamid)
    )
    .expect("count");
    assert_eq!(events, 3, "read, delivered and sent, each recorded once");
}

#[tokio::test]
async fn an_opt_out_reply_excludes_the_number_at_once_even_for_queued_messages() {
    let app = start().await;
    let queued = app.queue_reminder().await;
    assert_eq!(
        app.signed(&inbound("966501234567", "wamid.IN2", " إيقاف "))
            .await,
        StatusCode::OK
    );
    // Meta repeats deliveries: the second one changes nothing.
    assert_eq!(
        app.signed(&inbound("966501234567", "wamid.IN2", " إيقاف "))
            .await,
        StatusCode::OK
    );
    let exclusions: Vec<(String, String)> = nabd::db!(
        &app.db,
        fetch_all,
        sqlx::query_as("SELECT mobile, scope FROM do_not_contact WHERE restored_at IS NULL")
    )
    .expect("list");
    assert_eq!(exclusions, [("+966501234567".to_owned(), "all".to_owned())]);
    assert_eq!(
        app.messaging.outbox.deliver(queued).await.expect("deliver"),
        Outcome::Skipped("do_not_contact")
    );
    assert!(app.graph.lock().expect("lock").requests.is_empty());
}

#[tokio::test]
async fn error_131050_stops_marketing_to_that_number_but_not_its_reminders() {
    let app = start().await;
    app.graph.lock().expect("lock").fail_with = Some((400, 131050));
    let campaign = app
        .queue(Kind::Campaign, "0501234567", Some("campaign"), &["a"])
        .await;
    match app
        .messaging
        .outbox
        .deliver(campaign)
        .await
        .expect("deliver")
    {
        Outcome::Failed(reason) => assert!(reason.contains("131050"), "{reason}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    let scope: String = nabd::db!(
        &app.db,
        fetch_one,
        sqlx::query_scalar("SELECT scope FROM do_not_contact WHERE mobile = '+966501234567'")
    )
    .expect("excluded");
    assert_eq!(scope, "marketing");
    let reminder = app.queue_reminder().await;
    assert_eq!(
        app.messaging
            .outbox
            .deliver(reminder)
            .await
            .expect("deliver"),
        Outcome::Sent
    );
}

#[tokio::test]
async fn a_graph_outage_is_retried_and_a_refused_number_fails_with_the_reason() {
    let app = start().await;
    app.graph.lock().expect("lock").fail_with = Some((503, 2));
    let id = app.queue_reminder().await;
    assert!(matches!(
        app.messaging.outbox.deliver(id).await.expect("deliver"),
        Outcome::Retrying(_)
    ));
    assert_eq!(app.row(id).await.0, "queued");

    app.graph.lock().expect("lock").fail_with = Some((400, 131026));
    let refused = app
        .queue(
            Kind::Reminder,
            "0509999999",
            Some("reminder_confirmed"),
            &["a", "b", "c", "d"],
        )
        .await;
    match app
        .messaging
        .outbox
        .deliver(refused)
        .await
        .expect("deliver")
    {
        Outcome::Failed(reason) => assert!(reason.contains("131026"), "{reason}"),
        other => panic!("expected a permanent failure, got {other:?}"),
    }
    let (state, _, _, error) = app.row(refused).await;
    assert_eq!(state, "failed");
    assert!(error.is_some_and(|e| e.contains("400")));
}
