//! Why the dashboard figures could not be computed.

use crate::gateway::GatewayError;

/// Why the figures for a request could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum FiguresError {
    /// The requested doctor is not one of the clinic's (real) doctors.
    #[error("there is no doctor with id {0}")]
    UnknownDoctor(i64),
    /// The clinic database failed or timed out.
    #[error(transparent)]
    Clinic(#[from] GatewayError),
}
