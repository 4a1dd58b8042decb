//! Two-way conversations end to end, over real HTTP: reminders sent through a Graph API double
//! that returns message ids (with quick-reply buttons), patients' replies posted to the signed
//! webhook (text with a quote, a button, an interactive reply, an image, a duplicate, a sender
//! that is not a number), the inbox and the reception's list as an admin reads them, a staff
//! reply inside the 24-hour window and its refusal outside it; and the whatsapp-web bridge's
//! endpoint with its shared secret.

mod common;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, KeyInit, Mac};
use nabd::messaging::reminders::{self, Touches};
use nabd::web::state::AppState;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

const APP_SECRET: &str = "conversation-secret";
const BRIDGE_SECRET: &str = "bridge-shared-secret";
const NOW: &str = "2026-01-05T12:00";

type Requests = Arc<Mutex<Vec<Value>>>;

async fn graph_messages(State(requests): State<Requests>, Json(body): Json<Value>) -> Json<Value> {
    let mut requests = requests.lock().expect("lock");
    requests.push(body);
    Json(json!({ "messages": [{ "id": format!("wamid.OUT{}", requests.len()) }] }))
}

async fn start_graph() -> (String, Requests) {
    let requests: Requests = Arc::default();
    let router = Router::new()
        .route("/v21.0/{id}/messages", post(graph_messages))
        .with_state(requests.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}/v21.0"), requests)
}

struct App {
    base: String,
    state: AppState,
    client: reqwest::Client,
    cookie: String,
    csrf: String,
    _database: common::postgres::AppDatabase,
    _dir: Option<tempfile::TempDir>,
}

/// Nabd on a hand-made clinic: Sara's confirmed appointment at 13:00 and Omar's unconfirmed one
/// at 15:00 today, both due their same-day reminder at noon, and Omar's unconfirmed one tomorrow.
async fn start(provider: &[&str]) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = start_in(dir.path(), NOW, provider).await;
    app._dir = Some(dir);
    app
}

async fn clinic(path: &std::path::Path) {
    common::sqlite_clinic(
        path,
        "INSERT INTO doctor VALUES (1, 'د. علي الحربي', 'Dr. Ali Alharbi');
         INSERT INTO patient (id, name_a, name_e, mobile, trans_dt) VALUES
           (1, 'سارة', 'Sara', '0501111111', '2025-01-01 09:00:00'),
           (2, 'عمر', 'Omar', '0502222222', '2025-01-01 09:00:00');
         INSERT INTO appointment VALUES
           (201, 1, 'سارة', '0501111111', 1, 'د. علي', '2026-01-05', '13:00:00', NULL, 1, '2026-01-01 10:00:00'),
           (208, 2, 'عمر', '0502222222', 1, 'د. علي', '2026-01-05', '15:00:00', NULL, 0, '2026-01-01 10:00:00'),
           -- tomorrow, unconfirmed: the day-before touch's
           (209, 2, 'عمر', '0502222222', 1, 'د. علي', '2026-01-06', '10:00:00', NULL, 0, '2026-01-01 10:00:00');",
    )
    .await;
}

/// Nabd on the databases in `dir` (the clinic made on the first start), its clinic clock at
/// `now`, with an admin signed in.
async fn start_in(dir: &std::path::Path, now: &str, provider: &[&str]) -> App {
    let clinic_path = dir.join("clinic.db");
    if !clinic_path.exists() {
        clinic(&clinic_path).await;
    }
    let database = common::postgres::app_database_in(dir).await;
    let app_db = database.url.clone();
    let clinic_url = format!("sqlite://{}/clinic.db", dir.display());
    let mut args = vec![
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &app_db,
        "--clinic-url",
        &clinic_url,
        "--jobs-enabled",
        "false",
        "--now",
        now,
        "--stagger-seconds",
        "0-0",
        "--whatsapp-web-secret",
        BRIDGE_SECRET,
    ];
    args.extend_from_slice(provider);
    let (addr, state) = common::spawn_nabd_with_state(&args).await;
    // A second start on the same databases finds the admin already there.
    let _ = nabd::admin::create_user(
        &state.db,
        "desk",
        "correct horse battery",
        nabd::admin::Role::Admin,
        chrono::Utc::now(),
    )
    .await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let signed_in = client
        .post(format!("{base}/api/v1/admin/sign-in"))
        .header("origin", &base)
        .json(&json!({ "username": "desk", "password": "correct horse battery" }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), StatusCode::OK);
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("cookie")
        .to_owned();
    let csrf = signed_in.json::<Value>().await.expect("json")["csrf"]
        .as_str()
        .expect("csrf")
        .to_owned();
    App {
        base,
        state,
        client,
        cookie,
        csrf,
        _database: database,
        _dir: None,
    }
}

impl App {
    /// Runs the same-day reminders and hands each to the provider; returns their outbox ids
    /// by appointment.
    async fn send_reminders(&self) -> Vec<(i64, i64)> {
        reminders::run(&self.state.messaging, Touches::SameDay, false)
            .await
            .expect("run");
        let ids: Vec<(i64, i64)> = nabd::db!(
            &self.state.db,
            fetch_all,
            sqlx::query_as("SELECT appointment_id, id FROM outbox ORDER BY appointment_id")
        )
        .expect("ids");
        for (_, id) in &ids {
            self.state
                .messaging
                .outbox
                .deliver(*id)
                .await
                .expect("deliver");
        }
        ids
    }

    async fn provider_id(&self, id: i64) -> String {
        nabd::db!(
            &self.state.db,
            fetch_one,
            sqlx::query_scalar("SELECT provider_message_id FROM outbox WHERE id = $1").bind(id)
        )
        .expect("sent")
    }

    async fn webhook(&self, messages: Vec<Value>) -> StatusCode {
        let body = json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "messages": messages,
            }}]}]
        })
        .to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("key");
        mac.update(body.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        self.client
            .post(format!("{}/webhooks/whatsapp", self.base))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .expect("answers")
            .status()
    }

    /// A patient's message as the bridge posts it, with the right secret.
    async fn patient_writes(&self, id: &str, digits: &str, body: &str) -> StatusCode {
        self.client
            .post(format!("{}/webhooks/whatsapp-web", self.base))
            .header("x-nabd-bridge-secret", BRIDGE_SECRET)
            .json(
                &json!({ "id": id, "from": format!("{digits}@c.us"), "body": body,
                           "timestamp": chrono::Utc::now().timestamp() }),
            )
            .send()
            .await
            .expect("answers")
            .status()
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .expect("answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Nabd sending through a whatsapp-web bridge double.
async fn start_with_bridge() -> (App, common::bridge::Shared) {
    let (bridge_url, bridge) = common::bridge::start_bridge().await;
    let app = start(&[
        "--whatsapp-provider",
        "whatsapp-web",
        "--whatsapp-web-url",
        &bridge_url,
    ])
    .await;
    (app, bridge)
}

fn text(from: &str, id: &str, at: i64, body: &str, quoting: Option<&str>) -> Value {
    let mut message = json!({ "from": from, "id": id, "timestamp": at.to_string(),
                              "type": "text", "text": { "body": body } });
    if let Some(quoted) = quoting {
        message["context"] = json!({ "from": "15550000000", "id": quoted });
    }
    message
}

fn cloud_api(graph: &str) -> Vec<String> {
    [
        "--whatsapp-provider",
        "cloud-api",
        "--cloud-api-url",
        graph,
        "--cloud-api-phone-number-id",
        "1234567890",
        "--cloud-api-token",
        "graph-token",
        "--cloud-api-app-secret",
        APP_SECRET,
        "--cloud-api-templates",
        "reminder_confirmed=nabd_confirmed,reminder_unconfirmed=nabd_unconfirmed",
        "--cloud-api-buttons",
        "reminder_unconfirmed=confirm,reschedule,cancel",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn replies_reach_the_inbox_and_reception_and_staff_answer_inside_the_window() {
    let (graph, requests) = start_graph().await;
    let args = cloud_api(&graph);
    let app = start(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let sent = app.send_reminders().await;
    let (sara, omar) = (sent[0].1, sent[1].1);
    assert_eq!((sent[0].0, sent[1].0), (201, 208));

    // Omar's unconfirmed reminder carries its buttons, each naming its intent and the message.
    let omar_request = requests.lock().expect("lock")[1].clone();
    let components = omar_request["template"]["components"]
        .as_array()
        .expect("components");
    let payloads: Vec<&str> = components
        .iter()
        .filter(|c| c["type"] == "button")
        .map(|c| c["parameters"][0]["payload"].as_str().expect("payload"))
        .collect();
    assert_eq!(
        payloads,
        [
            format!("confirm:{omar}"),
            format!("reschedule:{omar}"),
            format!("cancel:{omar}")
        ]
    );

    let now = chrono::Utc::now().timestamp();
    let sara_wamid = app.provider_id(sara).await;
    let delivery = vec![
        // Sara quotes her reminder: "I can't come".
        text(
            "966501111111",
            "wamid.IN1",
            now + 1,
            "ما اقدر احضر",
            Some(&sara_wamid),
        ),
        // Omar taps "Confirm" on his.
        json!({ "from": "966502222222", "id": "wamid.IN2", "timestamp": (now + 2).to_string(),
                "type": "button", "context": { "id": app.provider_id(omar).await },
                "button": { "payload": format!("confirm:{omar}"), "text": "تأكيد" } }),
        // Sara sends a photo without a caption.
        json!({ "from": "966501111111", "id": "wamid.IN3", "timestamp": (now + 3).to_string(),
                "type": "image", "image": { "mime_type": "image/jpeg", "id": "media-1" } }),
        // A number nobody can message.
        text("12", "wamid.IN4", now + 4, "hello", None),
    ];
    assert_eq!(app.webhook(delivery.clone()).await, StatusCode::OK);
    // Meta retries the same delivery: nothing is stored twice.
    assert_eq!(app.webhook(delivery).await, StatusCode::OK);
    let stored: Vec<(String, String, String, Option<i64>, bool)> = nabd::db!(
        &app.state.db,
        fetch_all,
        sqlx::query_as(
            "SELECT provider_message_id, type, intent, answers_id, sender_valid = 1
         FROM inbound_messages ORDER BY provider_message_id",
        )
    )
    .expect("stored");
    assert_eq!(
        stored,
        [
            (
                "wamid.IN1".to_owned(),
                "text".to_owned(),
                "cancel".to_owned(),
                Some(sara),
                true
            ),
            (
                "wamid.IN2".to_owned(),
                "button".to_owned(),
                "confirm".to_owned(),
                Some(omar),
                true
            ),
            // Without a quote, it answers the latest message sent to Sara.
            (
                "wamid.IN3".to_owned(),
                "image".to_owned(),
                "other".to_owned(),
                Some(sara),
                true
            ),
            (
                "wamid.IN4".to_owned(),
                "text".to_owned(),
                "other".to_owned(),
                None,
                false
            ),
        ]
    );

    // The inbox: Sara needs action (she cancels), with her name from the PMS and two unread.
    let (status, needs) = app
        .get("/api/v1/admin/conversations?filter=needs_action")
        .await;
    assert_eq!(status, StatusCode::OK);
    let needs = needs.as_array().expect("list");
    assert_eq!(needs.len(), 1, "{needs:?}");
    assert_eq!(needs[0]["mobile"], "+966501111111");
    assert_eq!(needs[0]["patient_name"], "سارة");
    assert_eq!(needs[0]["intent"], "cancel");
    assert_eq!(needs[0]["unread"], 2);
    assert_eq!(needs[0]["handled"], false);
    let (_, confirmations) = app
        .get("/api/v1/admin/conversations?filter=confirmations")
        .await;
    assert_eq!(confirmations[0]["mobile"], "+966502222222");
    assert_eq!(confirmations.as_array().map(Vec::len), Some(1));
    let (_, found) = app
        .get("/api/v1/admin/conversations?filter=all&q=%D8%B9%D9%85%D8%B1")
        .await;
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(1),
        "searched by name: {found}"
    );
    let (bad, _) = app
        .get("/api/v1/admin/conversations?filter=everything")
        .await;
    assert_eq!(bad, StatusCode::UNPROCESSABLE_ENTITY);

    // Sara's thread: her reminder out, her two messages in (the photo as a placeholder).
    let (_, thread) = app.get("/api/v1/admin/conversations/+966501111111").await;
    let thread = thread.as_array().expect("thread");
    let lines: Vec<(&str, &str)> = thread
        .iter()
        .map(|line| {
            (
                line["direction"].as_str().unwrap_or_default(),
                line["body"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0].0, "out");
    assert_eq!(thread[0]["kind"], "reminder");
    assert_eq!(thread[0]["appointment_id"], 201);
    assert_eq!(lines[1], ("in", "ما اقدر احضر"));
    assert_eq!(lines[2], ("in", "[image]"));
    assert_eq!(thread[2]["type"], "image");
    // Opening it read it.
    let (_, all) = app
        .get("/api/v1/admin/conversations?filter=all&q=0501111111")
        .await;
    assert_eq!(all[0]["unread"], 0);

    // The reception's list: both appointments, by time, with what each patient asked.
    let (_, day) = app
        .get("/api/v1/admin/appointment-replies?date=2026-01-05")
        .await;
    let day = day.as_array().expect("replies");
    assert_eq!(day.len(), 2);
    assert_eq!(day[0]["appointment_id"], 201);
    assert_eq!(day[0]["intent"], "cancel");
    assert_eq!(day[0]["text"], "[image]");
    assert_eq!(day[0]["starts_at"], "13:00");
    assert_eq!(day[0]["doctor"], "د. علي الحربي");
    assert_eq!(day[1]["appointment_id"], 208);
    assert_eq!(day[1]["intent"], "confirm");
    assert_eq!(day[1]["patient_name"], "عمر");
    let (_, tomorrow) = app
        .get("/api/v1/admin/appointment-replies?date=2026-01-06")
        .await;
    assert_eq!(tomorrow, json!([]));
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/admin/appointment-replies.csv?date=2026-01-05",
            app.base
        ))
        .header("cookie", &app.cookie)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("csv body");
    assert!(
        csv.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("201,13:00,")),
        "{csv}"
    );
    // Omar confirmed by reply: a later reminder of his uses the confirmed wording.
    let confirmed = nabd::messaging::conversations::confirmed_by_reply(&app.state.db, &[201, 208])
        .await
        .expect("read");
    assert_eq!(confirmed.into_iter().collect::<Vec<_>>(), [208]);

    // Staff answer Sara inside the window: free text, through the outbox, audited.
    let (status, answer) = app
        .post(
            "/api/v1/admin/conversations/+966501111111/reply",
            json!({ "body": "لا بأس، نلغي الموعد. هل نحجز لك يوماً آخر؟" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let last = requests
        .lock()
        .expect("lock")
        .last()
        .cloned()
        .expect("sent");
    assert_eq!(last["type"], "text");
    assert_eq!(last["to"], "966501111111");
    assert_eq!(
        last["text"]["body"],
        "لا بأس، نلغي الموعد. هل نحجز لك يوماً آخر؟"
    );
    let (kind, state): (String, String) = nabd::db!(
        &app.state.db,
        fetch_one,
        sqlx::query_as("SELECT kind, state FROM outbox WHERE id = $1")
            .bind(answer["message_id"].as_i64().expect("id"))
    )
    .expect("reply row");
    assert_eq!((kind.as_str(), state.as_str()), ("reply", "sent"));
    let (empty, _) = app
        .post(
            "/api/v1/admin/conversations/+966501111111/reply",
            json!({ "body": "  " }),
        )
        .await;
    assert_eq!(empty, StatusCode::UNPROCESSABLE_ENTITY);

    // Mark handled: she leaves "needs action"; a new message reopens the conversation.
    let (status, _) = app
        .post(
            "/api/v1/admin/conversations/+966501111111/handled",
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, needs) = app
        .get("/api/v1/admin/conversations?filter=needs_action")
        .await;
    assert_eq!(needs, json!([]));
    assert_eq!(
        app.webhook(vec![text(
            "966501111111",
            "wamid.IN5",
            now + 10,
            "ممكن بكرة؟",
            None
        )])
        .await,
        StatusCode::OK
    );
    let (_, needs) = app
        .get("/api/v1/admin/conversations?filter=needs_action")
        .await;
    assert_eq!(needs[0]["intent"], "reschedule");
    assert_eq!(needs[0]["handled"], false);
    let audited: Vec<String> =
        nabd::db!(&app.state.db, fetch_all, sqlx::query_scalar("SELECT action FROM audit_log WHERE action IN ('replied', 'conversation_handled') ORDER BY id"))
            .expect("audit");
    assert_eq!(audited, ["replied", "conversation_handled"]);

    // A patient who last wrote 25 hours ago: the window is closed and no manual template is
    // configured, so the reply is refused, and nothing goes.
    let before = requests.lock().expect("lock").len();
    assert_eq!(
        app.webhook(vec![text(
            "966503333333",
            "wamid.IN6",
            now - 25 * 3600,
            "متى فيه موعد",
            None
        )])
        .await,
        StatusCode::OK
    );
    let (status, refusal) = app
        .post(
            "/api/v1/admin/conversations/+966503333333/reply",
            json!({ "body": "أهلاً" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refusal["error"], "window_closed");
    assert_eq!(requests.lock().expect("lock").len(), before);
    let (missing, _) = app
        .post(
            "/api/v1/admin/conversations/+966509999999/reply",
            json!({ "body": "hi" }),
        )
        .await;
    assert_eq!(missing, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_reply_to_a_campaign_with_the_cancel_word_opts_out_but_to_a_reminder_it_cancels() {
    let (graph, _) = start_graph().await;
    let args = cloud_api(&graph);
    let app = start(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    app.send_reminders().await;
    let now = chrono::Utc::now().timestamp();
    // Sara answers her reminder "إلغاء": cancel the appointment, keep writing to her.
    assert_eq!(
        app.webhook(vec![text("966501111111", "wamid.C1", now, "إلغاء", None)])
            .await,
        StatusCode::OK
    );
    // Someone Nabd never wrote to says "إلغاء": stop, as before conversations existed.
    assert_eq!(
        app.webhook(vec![text("966507777777", "wamid.C2", now, "إلغاء", None)])
            .await,
        StatusCode::OK
    );
    // Omar says STOP to his reminder: stop in every context.
    assert_eq!(
        app.webhook(vec![text("966502222222", "wamid.C3", now, "STOP", None)])
            .await,
        StatusCode::OK
    );
    let excluded: Vec<String> = nabd::db!(
        &app.state.db,
        fetch_all,
        sqlx::query_scalar(
            "SELECT mobile FROM do_not_contact WHERE restored_at IS NULL ORDER BY mobile",
        )
    )
    .expect("list");
    assert_eq!(excluded, ["+966502222222", "+966507777777"]);
    let intent: String = nabd::db!(
        &app.state.db,
        fetch_one,
        sqlx::query_scalar(
            "SELECT intent FROM inbound_messages WHERE provider_message_id = 'wamid.C1'",
        )
    )
    .expect("stored");
    assert_eq!(intent, "cancel");
}

#[tokio::test]
async fn the_bridge_posts_replies_with_its_secret_and_quoted_ones_link_to_what_nabd_sent() {
    let (app, _bridge) = start_with_bridge().await;
    let sent = app.send_reminders().await;
    let sara = sent[0].1;
    let quoted = app.provider_id(sara).await;
    assert!(quoted.starts_with("true_966501111111@c.us_"), "{quoted}");
    let post = |secret: Option<&str>, body: Value| {
        let mut request = app
            .client
            .post(format!("{}/webhooks/whatsapp-web", app.base))
            .json(&body);
        if let Some(secret) = secret {
            request = request.header("x-nabd-bridge-secret", secret);
        }
        async move { request.send().await.expect("answers").status() }
    };
    let message = json!({ "id": "false_966501111111@c.us_AAA1", "from": "966501111111@c.us",
                          "body": "تم 👍", "timestamp": chrono::Utc::now().timestamp(),
                          "type": "chat", "quoted_id": quoted });
    assert_eq!(post(None, message.clone()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        post(Some("guess"), message.clone()).await,
        StatusCode::UNAUTHORIZED
    );
    let count = || async {
        nabd::db!(
            &app.state.db,
            fetch_one,
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM inbound_messages")
        )
        .expect("count")
    };
    assert_eq!(count().await, 0, "a refused post stores nothing");
    assert_eq!(
        post(Some(BRIDGE_SECRET), message.clone()).await,
        StatusCode::OK
    );
    assert_eq!(post(Some(BRIDGE_SECRET), message).await, StatusCode::OK);
    assert_eq!(count().await, 1, "stored once");
    let (answers, intent, provider, kind): (Option<i64>, String, String, String) = nabd::db!(
        &app.state.db,
        fetch_one,
        sqlx::query_as("SELECT answers_id, intent, provider, type FROM inbound_messages")
    )
    .expect("stored");
    assert_eq!(answers, Some(sara));
    assert_eq!(intent, "confirm");
    assert_eq!((provider.as_str(), kind.as_str()), ("whatsapp-web", "text"));
    assert_eq!(
        post(Some(BRIDGE_SECRET), json!({ "from": "9665" })).await,
        StatusCode::BAD_REQUEST
    );
    let huge = json!({ "id": "x", "from": "966501111111", "body": "a".repeat(100_000) });
    assert_eq!(
        post(Some(BRIDGE_SECRET), huge).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // With the bridge there is no window: staff may answer whenever.
    let (status, _) = app
        .post(
            "/api/v1/admin/conversations/+966501111111/reply",
            json!({ "body": "شكراً لك" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn the_bridge_endpoint_is_not_there_without_its_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/nabd.db", dir.path().display());
    let args = [
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &db,
        "--jobs-enabled",
        "false",
    ];
    let addr = common::spawn_nabd(&args).await;
    let status = reqwest::Client::new()
        .post(format!("http://{addr}/webhooks/whatsapp-web"))
        .header("x-nabd-bridge-secret", "anything")
        .json(&json!({ "id": "1", "from": "966501111111", "body": "hi" }))
        .send()
        .await
        .expect("answers")
        .status();
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_confirmation_by_reply_is_thanked_once_and_changes_the_next_reminders_wording() {
    let (bridge_url, bridge) = common::bridge::start_bridge().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let provider = [
        "--whatsapp-provider",
        "whatsapp-web",
        "--whatsapp-web-url",
        &bridge_url,
        "--reply-acknowledge",
        "true",
        "--reminder-day-before-hours",
        "11:00-21:00",
    ];
    let today = start_in(dir.path(), NOW, &provider).await;
    // The evening before: Omar's appointment tomorrow gets the unconfirmed wording.
    reminders::run(&today.state.messaging, Touches::DayBefore, false)
        .await
        .expect("run");
    let (id, template): (i64, String) = nabd::db!(
        &today.state.db,
        fetch_one,
        sqlx::query_as("SELECT id, template FROM outbox WHERE appointment_id = 209")
    )
    .expect("queued");
    assert_eq!(template, "reminder_day_before_unconfirmed");
    // Spread over the slot; this test does not wait for its moment.
    nabd::db!(
        &today.state.db,
        execute,
        sqlx::query("UPDATE outbox SET not_before = $1 WHERE id = $2")
            .bind(nabd::platform::time::stamp(chrono::Utc::now()))
            .bind(id)
    )
    .expect("due now");
    today
        .state
        .messaging
        .outbox
        .deliver(id)
        .await
        .expect("deliver");

    // Omar answers "تم" (twice): he is thanked once, through the outbox, as a staff reply.
    for n in 1..=2 {
        let id = format!("false_966502222222@c.us_OK{n}");
        assert_eq!(
            today.patient_writes(&id, "966502222222", "تم").await,
            StatusCode::OK
        );
    }
    let thanks: Vec<(i64, String, String)> = nabd::db!(
        &today.state.db,
        fetch_all,
        sqlx::query_as(
            "SELECT id, kind, body FROM outbox WHERE idempotency_key LIKE 'acknowledge:%'",
        )
    )
    .expect("thanks");
    assert_eq!(thanks.len(), 1, "{thanks:?}");
    assert_eq!(thanks[0].1, "reply");
    assert_eq!(thanks[0].2, "شكراً لتأكيد موعدك، نراك قريباً.");
    today
        .state
        .messaging
        .outbox
        .deliver(thanks[0].0)
        .await
        .expect("deliver");
    assert_eq!(
        bridge
            .lock()
            .expect("lock")
            .received
            .last()
            .map(|(_, m)| m.clone()),
        Some("شكراً لتأكيد موعدك، نراك قريباً.".to_owned())
    );

    // The next morning the PMS still says unconfirmed, but Omar said yes: the same-day
    // reminder uses the confirmed wording.
    let tomorrow = start_in(dir.path(), "2026-01-06T08:00", &provider).await;
    reminders::run(&tomorrow.state.messaging, Touches::SameDay, false)
        .await
        .expect("run");
    let template: String = nabd::db!(
        &tomorrow.state.db,
        fetch_one,
        sqlx::query_scalar(
            "SELECT template FROM outbox WHERE appointment_id = 209 AND touch = 'same_day'",
        )
    )
    .expect("queued");
    assert_eq!(template, "reminder_confirmed");
}

#[tokio::test]
async fn a_campaign_patient_who_asks_to_book_by_reply_is_a_step_of_the_report() {
    let (app, _bridge) = start_with_bridge().await;
    let clock = app.state.messaging.outbox.clock();
    nabd::db!(&app.state.db, execute, sqlx::raw_sql(
        "INSERT INTO campaign_batches (id, batch_day, selected_at, holdout_share, seed, considered)
         VALUES (1, '2026-01-05', 'x', 0.1, 1, 1);
         INSERT INTO campaign_patients (id, batch_id, patient_id, name_ar, mobile, last_visit,
             lifetime_halalas, holdout, state)
         VALUES (1, 1, 3, 'هدى', '+966503333333', '2024-06-01', 0, 0, 'staged');",
    ))
    .expect("a staged patient");
    let queued = app
        .state
        .messaging
        .outbox
        .enqueue(&[nabd::messaging::outbox::NewMessage {
            kind: nabd::messaging::Kind::Campaign,
            to: nabd::platform::phone::Mobile::parse("0503333333", Default::default())
                .expect("valid"),
            body: "اشتقنا لك، رد لحجز موعد فحص".to_owned(),
            language: nabd::messaging::Language::Ar,
            template_key: Some("campaign".to_owned()),
            params: vec![],
            key: "campaign:1".to_owned(),
            not_before: clock.real_now(),
            expires_at: None,
            clinic_day: clock.today(),
            batch: Some("campaign:2026-01-05".to_owned()),
            appointment_id: None,
            touch: None,
            campaign_patient_id: Some(1),
            broadcast_id: None,
        }])
        .await
        .expect("queued");
    nabd::db!(
        &app.state.db,
        execute,
        sqlx::query("UPDATE campaign_patients SET state = 'queued', message_id = $1 WHERE id = 1")
            .bind(queued[0].id)
    )
    .expect("linked");
    app.state
        .messaging
        .outbox
        .deliver(queued[0].id)
        .await
        .expect("deliver");
    let (_, before) = app.get("/api/v1/marketing/report").await;
    assert_eq!(before["asked_to_book"], 0);
    let asked = app
        .patient_writes(
            "false_966503333333@c.us_B1",
            "966503333333",
            "ابي احجز الأسبوع الجاي",
        )
        .await;
    assert_eq!(asked, StatusCode::OK);
    let (_, after) = app.get("/api/v1/marketing/report").await;
    assert_eq!(after["asked_to_book"], 1, "{after}");
    assert_eq!(after["messaged"]["patients"], 1);
    // Asking is not returning: that needs a booking in the PMS.
    assert_eq!(after["messaged"]["returned"], 0);
}

#[tokio::test]
async fn a_slow_clinic_database_does_not_hold_a_delivery_and_the_name_comes_with_the_next_message()
{
    use sqlx::Connection;
    let dir = tempfile::tempdir().expect("temp dir");
    let (bridge_url, _bridge) = common::bridge::start_bridge().await;
    let provider = [
        "--whatsapp-provider",
        "whatsapp-web",
        "--whatsapp-web-url",
        &bridge_url,
    ];
    let app = start_in(dir.path(), NOW, &provider).await;
    // Reception's PMS holds the clinic database locked: every read waits (5 s, then fails).
    let clinic_url = format!("sqlite://{}/clinic.db", dir.path().display());
    let mut lock = sqlx::SqliteConnection::connect(&clinic_url)
        .await
        .expect("clinic");
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .expect("lock");
    let started = std::time::Instant::now();
    let status = app
        .patient_writes("false_966502222222@c.us_S1", "966502222222", "نعم")
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(
        took < std::time::Duration::from_millis(4500),
        "the delivery waited {took:?}"
    );
    let name: Option<String> = nabd::db!(
        &app.state.db,
        fetch_one,
        sqlx::query_scalar("SELECT patient_name FROM conversations WHERE mobile = '+966502222222'")
    )
    .expect("a conversation");
    assert_eq!(name, None, "not known yet");
    sqlx::raw_sql("COMMIT")
        .execute(&mut lock)
        .await
        .expect("unlock");
    let status = app
        .patient_writes("false_966502222222@c.us_S2", "966502222222", "شكراً")
        .await;
    assert_eq!(status, StatusCode::OK);
    let name: Option<String> = nabd::db!(
        &app.state.db,
        fetch_one,
        sqlx::query_scalar("SELECT patient_name FROM conversations WHERE mobile = '+966502222222'")
    )
    .expect("a conversation");
    assert_eq!(name.as_deref(), Some("عمر"));
}
