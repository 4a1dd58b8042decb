//! The WhatsApp providers behind one interface: `log` (records, sends nothing), the
//! whatsapp-web.js HTTP bridge, and the WhatsApp Business Platform's Cloud API. A provider only
//! hands one message over and says whether a failure is worth retrying; the outbox decides what
//! happens next.

use crate::config::Secret;
use crate::config::messaging::{Buttons, MessagingConfig, TemplateNames};
use crate::messaging::kind::Kind;
use crate::platform::language::Language;
use crate::platform::phone::Mobile;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// One message as a provider sees it.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// The outbox id (a quick-reply button's payload names it).
    pub id: i64,
    pub kind: Kind,
    pub to: &'a Mobile,
    pub body: &'a str,
    pub language: Language,
    /// The template key (`reminder_confirmed`, `feedback`, ...) whose approved template the
    /// Cloud API sends, with its body parameters in order.
    pub template_key: Option<&'a str>,
    pub params: &'a [String],
    /// Whether the patient wrote to the clinic within the last 24 hours, so that free text may
    /// be sent on the Cloud API.
    pub reply_window_open: bool,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's id for it, which delivery reports refer to.
    pub message_id: Option<String>,
}

/// The provider did not take the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Not sent, and worth trying again later (not ready, overloaded, 5xx, timeout).
    #[error("{0}")]
    Retryable(String),
    /// Never going to work as it is (invalid number, refused message); `code` is the
    /// provider's error code when it gave one.
    #[error("{reason}")]
    Permanent { reason: String, code: Option<i64> },
}

/// WhatsApp's error for a patient who stopped marketing messages.
pub const STOPPED_MARKETING: i64 = 131050;

/// The configured provider.
#[derive(Debug, Clone)]
pub enum Provider {
    Log,
    WhatsappWeb(WhatsappWeb),
    CloudApi(CloudApi),
}

impl Provider {
    /// Builds the provider chosen by `NABD_WHATSAPP_PROVIDER`; an error names a missing setting.
    pub fn from_config(config: &MessagingConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(config.provider_timeout())
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|error| format!("cannot build the HTTP client: {error}"))?;
        match config.whatsapp_provider.as_str() {
            "whatsapp-web" => Ok(Self::WhatsappWeb(WhatsappWeb {
                http,
                base: config.whatsapp_web_url.trim_end_matches('/').to_owned(),
            })),
            "cloud-api" => {
                let phone_number_id = config.cloud_api_phone_number_id.clone().ok_or(
                    "NABD_WHATSAPP_PROVIDER=cloud-api needs NABD_CLOUD_API_PHONE_NUMBER_ID",
                )?;
                let token = config
                    .cloud_api_token
                    .clone()
                    .ok_or("NABD_WHATSAPP_PROVIDER=cloud-api needs NABD_CLOUD_API_TOKEN")?;
                Ok(Self::CloudApi(CloudApi {
                    http,
                    base: config.cloud_api_url.trim_end_matches('/').to_owned(),
                    phone_number_id,
                    token,
                    templates: config.cloud_api_templates.clone(),
                    buttons: config.cloud_api_buttons.clone(),
                }))
            }
            _ => Ok(Self::Log),
        }
    }

    /// Returns the provider's name as recorded on each message.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Log => "log",
            Self::WhatsappWeb(_) => "whatsapp-web",
            Self::CloudApi(_) => "cloud-api",
        }
    }

    /// Asks the provider whether it can send, without sending (`nabd check`): the bridge's
    /// `/status`, or a read of the Cloud API phone number with the token. `Ok` says what
    /// answered; `Err` why it cannot send.
    pub async fn probe(&self) -> Result<String, String> {
        match self {
            Self::Log => Ok("log: messages are recorded in the outbox, never sent".to_owned()),
            Self::WhatsappWeb(bridge) => {
                let url = format!("{}/status", bridge.base);
                let response = bridge
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|error| format!("{url} does not answer: {error}"))?;
                if !response.status().is_success() {
                    return Err(format!("{url} answered {}", response.status()));
                }
                let status: BridgeStatus = response
                    .json()
                    .await
                    .map_err(|error| format!("{url} answered something unreadable: {error}"))?;
                if status.status == "ready" {
                    Ok(format!("{url}: ready"))
                } else {
                    Err(format!("{url}: not ready (status {:?})", status.status))
                }
            }
            Self::CloudApi(cloud) => {
                let url = format!(
                    "{}/{}?fields=display_phone_number,verified_name",
                    cloud.base, cloud.phone_number_id
                );
                let response = cloud
                    .http
                    .get(&url)
                    .bearer_auth(cloud.token.expose())
                    .send()
                    .await
                    .map_err(|error| format!("the Cloud API does not answer: {error}"))?;
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                if status.is_success() {
                    let number = body["display_phone_number"].as_str().unwrap_or("?");
                    let name = body["verified_name"].as_str().unwrap_or("?");
                    Ok(format!(
                        "phone number id {}: {number} ({name})",
                        cloud.phone_number_id
                    ))
                } else {
                    Err(format!(
                        "reading phone number id {} answered {status}: {}",
                        cloud.phone_number_id,
                        body["error"]["message"].as_str().unwrap_or("no message")
                    ))
                }
            }
        }
    }

    /// Hands one message to the provider.
    pub async fn send(&self, message: &Outgoing<'_>) -> Result<Accepted, SendError> {
        match self {
            Self::Log => {
                tracing::info!(
                    kind = %message.kind,
                    to = %message.to,
                    body = message.body,
                    "log provider: message recorded, not sent"
                );
                Ok(Accepted { message_id: None })
            }
            Self::WhatsappWeb(provider) => provider.send(message).await,
            Self::CloudApi(provider) => provider.send(message).await,
        }
    }
}

/// The whatsapp-web.js bridge that installations of the original system run.
#[derive(Debug, Clone)]
pub struct WhatsappWeb {
    http: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct BridgeStatus {
    status: String,
}

impl WhatsappWeb {
    async fn send(&self, message: &Outgoing<'_>) -> Result<Accepted, SendError> {
        let status = self
            .http
            .get(format!("{}/status", self.base))
            .send()
            .await
            .map_err(|error| unreachable("the WhatsApp bridge", &error))?;
        if !status.status().is_success() {
            return Err(SendError::Retryable(format!(
                "the WhatsApp bridge's status answered {}",
                status.status()
            )));
        }
        let status: BridgeStatus = status.json().await.map_err(|error| {
            SendError::Retryable(format!(
                "the WhatsApp bridge's status is unreadable: {error}"
            ))
        })?;
        if status.status != "ready" {
            return Err(SendError::Retryable(format!(
                "the WhatsApp bridge is not ready (status {:?})",
                status.status
            )));
        }
        let response = self
            .http
            .post(format!("{}/send-message", self.base))
            .json(&json!({ "to": message.to.digits(), "message": message.body }))
            .send()
            .await
            .map_err(|error| unreachable("the WhatsApp bridge", &error))?;
        let code = response.status();
        let text = response.text().await.unwrap_or_default();
        if code.is_success() {
            let message_id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|body| {
                    ["id", "messageId"]
                        .iter()
                        .find_map(|key| body.get(*key)?.as_str().map(str::to_owned))
                });
            Ok(Accepted { message_id })
        } else if code.is_server_error() || code.as_u16() == 429 || code.as_u16() == 408 {
            Err(SendError::Retryable(format!(
                "the WhatsApp bridge answered {code}: {}",
                excerpt(&text)
            )))
        } else {
            Err(SendError::Permanent {
                reason: format!(
                    "the WhatsApp bridge refused the message ({code}): {}",
                    excerpt(&text)
                ),
                code: Some(i64::from(code.as_u16())),
            })
        }
    }
}

/// The WhatsApp Business Platform (Graph API `/{phone-number-id}/messages`).
#[derive(Debug, Clone)]
pub struct CloudApi {
    http: reqwest::Client,
    base: String,
    phone_number_id: String,
    token: Secret,
    templates: TemplateNames,
    buttons: Buttons,
}

#[derive(Deserialize)]
struct GraphError {
    error: GraphErrorBody,
}

#[derive(Deserialize)]
struct GraphErrorBody {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// Graph API error codes that mean "later", not "never": rate limits, throughput, and the
/// platform's own temporary errors.
const RETRYABLE_GRAPH_CODES: [i64; 6] = [1, 2, 4, 80007, 130429, 131000];

impl CloudApi {
    async fn send(&self, message: &Outgoing<'_>) -> Result<Accepted, SendError> {
        let template = message.template_key.and_then(|key| self.templates.get(key));
        let payload = match template {
            Some(name) => {
                let mut components = vec![json!({
                    "type": "body",
                    "parameters": message.params.iter()
                        .map(|text| json!({ "type": "text", "text": text }))
                        .collect::<Vec<_>>(),
                })];
                // Each quick-reply button carries `<intent>:<outbox id>`, so that the patient's
                // tap names what it answers and means.
                let buttons = self.buttons.get(message.template_key.unwrap_or_default());
                components.extend(buttons.iter().enumerate().map(|(index, intent)| {
                    json!({
                        "type": "button",
                        "sub_type": "quick_reply",
                        "index": index.to_string(),
                        "parameters": [{ "type": "payload", "payload": format!("{intent}:{}", message.id) }],
                    })
                }));
                json!({
                    "messaging_product": "whatsapp",
                    "to": message.to.digits(),
                    "type": "template",
                    "template": {
                        "name": name,
                        "language": { "code": message.language.code() },
                        "components": components,
                    },
                })
            }
            None if message.reply_window_open => json!({
                "messaging_product": "whatsapp",
                "to": message.to.digits(),
                "type": "text",
                "text": { "body": message.body, "preview_url": true },
            }),
            None => {
                return Err(SendError::Permanent {
                    reason: format!(
                        "no approved template is configured for {} messages \
                         (NABD_CLOUD_API_TEMPLATES) and the patient has not written in the last \
                         24 hours",
                        message.template_key.unwrap_or(message.kind.as_str())
                    ),
                    code: None,
                });
            }
        };
        let response = self
            .http
            .post(format!("{}/{}/messages", self.base, self.phone_number_id))
            .bearer_auth(self.token.expose())
            .json(&payload)
            .send()
            .await
            .map_err(|error| unreachable("the WhatsApp Cloud API", &error))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let message_id = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|body| body["messages"][0]["id"].as_str().map(str::to_owned));
            return Ok(Accepted { message_id });
        }
        let error = serde_json::from_str::<GraphError>(&text)
            .ok()
            .map(|e| e.error);
        let (code, detail) = error
            .map(|e| (e.code, e.message))
            .unwrap_or((0, excerpt(&text)));
        let reason = format!("the WhatsApp Cloud API answered {status} (error {code}): {detail}");
        if status.is_server_error()
            || status.as_u16() == 429
            || RETRYABLE_GRAPH_CODES.contains(&code)
            // A refused token is the clinic's configuration to fix, not the patient's: wait.
            || status.as_u16() == 401
            || code == 190
        {
            Err(SendError::Retryable(reason))
        } else {
            Err(SendError::Permanent {
                reason,
                code: Some(code),
            })
        }
    }
}

fn unreachable(service: &str, error: &reqwest::Error) -> SendError {
    let what = if error.is_timeout() {
        "did not answer in time"
    } else if error.is_connect() {
        "cannot be reached"
    } else {
        "failed"
    };
    SendError::Retryable(format!("{service} {what}: {error}"))
}

fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}
