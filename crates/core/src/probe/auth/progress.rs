//! Which connection stage an attempt is in, and how long each took.
//!
//! The connector's own state names change in big steps and some states are pass-through (a
//! connect-time auto-detection phase that reads nothing, a multitransport phase whose first
//! PDU is really the Demand Active), so the stage is decided here from the state *and* the PDU
//! that arrived: the report names the stage the server was actually in.

use std::time::Instant;

use ironrdp_connector::ClientConnectorState;

use crate::evidence::{ConnectionStage, StageTiming, millis};

/// The stage being timed and those already done.
#[derive(Debug)]
pub(crate) struct Progress {
    current: Option<(ConnectionStage, Instant)>,
    timings: Vec<StageTiming>,
}

impl Progress {
    pub(crate) fn new() -> Progress {
        Progress {
            current: None,
            timings: Vec::new(),
        }
    }

    /// Enter `stage`; the previous stage, if different, completed.
    pub(crate) fn enter(&mut self, stage: ConnectionStage) {
        match self.current {
            Some((s, _)) if s == stage => {}
            _ => {
                self.complete();
                self.current = Some((stage, Instant::now()));
            }
        }
    }

    /// The current stage completed (nothing is under way any more).
    pub(crate) fn complete(&mut self) {
        if let Some((stage, since)) = self.current.take() {
            self.timings.push(StageTiming {
                stage,
                elapsed_ms: millis(since.elapsed()),
                completed: true,
            });
        }
    }

    /// The attempt stopped: the current stage did not complete.
    pub(crate) fn stop(&mut self) {
        if let Some((stage, since)) = self.current.take() {
            self.timings.push(StageTiming {
                stage,
                elapsed_ms: millis(since.elapsed()),
                completed: false,
            });
        }
    }

    pub(crate) fn current(&self) -> Option<ConnectionStage> {
        self.current.map(|(s, _)| s)
    }

    /// The last stage that completed.
    pub(crate) fn reached(&self) -> Option<ConnectionStage> {
        self.timings
            .iter()
            .rev()
            .find(|t| t.completed)
            .map(|t| t.stage)
    }

    /// The stage that was under way when the attempt stopped.
    pub(crate) fn stopped_in(&self) -> Option<ConnectionStage> {
        self.timings
            .last()
            .filter(|t| !t.completed)
            .map(|t| t.stage)
    }

    pub(crate) fn into_timings(mut self) -> Vec<StageTiming> {
        self.complete();
        self.timings
    }
}

/// The stage a connector state belongs to, given the MCS channel of the PDU that arrived in
/// it (if any) and the message channel the server offered.
///
/// - Connect-time auto-detection happens on the message channel; anything else read in that
///   state is the first licensing PDU, and a wait there is a wait for licensing.
/// - In multitransport bootstrapping a PDU on the message channel is a multitransport request;
///   anything else (the I/O channel) is the Demand Active of the capabilities exchange.
pub(crate) fn stage_of(
    state: &ClientConnectorState,
    pdu_channel: Option<u16>,
    message_channel: Option<u16>,
) -> Option<ConnectionStage> {
    let on_message_channel = pdu_channel.is_some() && pdu_channel == message_channel;
    Some(match state {
        ClientConnectorState::ConnectionInitiationSendRequest
        | ClientConnectorState::ConnectionInitiationWaitConfirm { .. } => {
            ConnectionStage::Negotiation
        }
        ClientConnectorState::EnhancedSecurityUpgrade { .. } => ConnectionStage::Tls,
        ClientConnectorState::Credssp { .. } => ConnectionStage::Credssp,
        ClientConnectorState::BasicSettingsExchangeSendInitial { .. }
        | ClientConnectorState::BasicSettingsExchangeWaitResponse { .. } => {
            ConnectionStage::BasicSettingsExchange
        }
        ClientConnectorState::ChannelConnection { .. } => ConnectionStage::ChannelConnection,
        ClientConnectorState::SecureSettingsExchange { .. } => {
            ConnectionStage::SecureSettingsExchange
        }
        ClientConnectorState::ConnectTimeAutoDetection { .. } if on_message_channel => {
            ConnectionStage::ConnectTimeAutoDetection
        }
        ClientConnectorState::ConnectTimeAutoDetection { .. }
        | ClientConnectorState::LicensingExchange { .. } => ConnectionStage::Licensing,
        ClientConnectorState::MultitransportBootstrapping { .. }
        | ClientConnectorState::MultitransportPending { .. }
            if on_message_channel =>
        {
            ConnectionStage::MultitransportBootstrapping
        }
        ClientConnectorState::MultitransportPending { .. } => {
            ConnectionStage::MultitransportBootstrapping
        }
        ClientConnectorState::MultitransportBootstrapping { .. }
        | ClientConnectorState::CapabilitiesExchange { .. } => {
            ConnectionStage::CapabilitiesExchange
        }
        ClientConnectorState::ConnectionFinalization { .. } => {
            ConnectionStage::ConnectionFinalization
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reached_is_the_last_completed_stage_and_stopped_in_the_one_under_way() {
        let mut p = Progress::new();
        p.enter(ConnectionStage::Tcp);
        p.enter(ConnectionStage::Negotiation);
        p.enter(ConnectionStage::Negotiation);
        p.enter(ConnectionStage::Tls);
        p.stop();
        assert_eq!(p.reached(), Some(ConnectionStage::Negotiation));
        assert_eq!(p.stopped_in(), Some(ConnectionStage::Tls));
        let t = p.into_timings();
        assert_eq!(t.len(), 3, "a repeated enter does not restart the stage");
    }

    #[test]
    fn a_completed_attempt_has_nothing_under_way() {
        let mut p = Progress::new();
        p.enter(ConnectionStage::Credssp);
        p.complete();
        assert_eq!(p.reached(), Some(ConnectionStage::Credssp));
        assert_eq!(p.stopped_in(), None);
    }

    #[test]
    fn pass_through_states_are_named_by_what_arrived() {
        let state = ClientConnectorState::ConnectTimeAutoDetection {
            io_channel_id: 1003,
            user_channel_id: 1007,
        };
        assert_eq!(
            stage_of(&state, Some(1003), Some(1008)),
            Some(ConnectionStage::Licensing)
        );
        assert_eq!(
            stage_of(&state, Some(1008), Some(1008)),
            Some(ConnectionStage::ConnectTimeAutoDetection)
        );
        assert_eq!(
            stage_of(&state, None, None),
            Some(ConnectionStage::Licensing)
        );
        let state = ClientConnectorState::MultitransportBootstrapping {
            io_channel_id: 1003,
            user_channel_id: 1007,
            message_channel_id: None,
            requests_seen: 0,
        };
        assert_eq!(
            stage_of(&state, Some(1003), None),
            Some(ConnectionStage::CapabilitiesExchange)
        );
    }
}
