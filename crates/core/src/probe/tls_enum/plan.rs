//! The enumeration planner: which ClientHello to send next, and what each answer proves.
//!
//! Sans-IO: [`Planner::next_probe`] hands out [`Probe`]s, [`Planner::answer`] takes what the
//! server said, [`Planner::finish`] returns the [`Outcome`]. Nothing here opens a socket or reads a
//! clock, so a simulated server drives it in unit tests and the engine drives it over RDP.
//!
//! # Strategy: elimination, so connections grow with what the server accepts
//!
//! - **Legacy versions** (TLS 1.0 to 1.2): offer every suite of the version (in blocks of at most
//!   [`universe::MAX_SUITES_PER_HELLO`]), remove the suite the server picks, offer the rest
//!   again, until the server refuses. A version costs (accepted suites + 1) connections per
//!   block; its first answer also says whether the version is accepted at all (a ServerHello for
//!   a lower version, or a `protocol_version` alert, means refused).
//! - **TLS 1.3**: the hello carries no key share for groups other than x25519, so a server that
//!   wants another group answers with a HelloRetryRequest naming *both* the suite and the group
//!   it chose. Suites and groups are therefore eliminated together, one connection revealing
//!   one of each; when the server refuses, one extra probe tells which list ran out.
//! - **Groups for TLS 1.2 ECDHE**: the ECDHE suites with the named curves not yet seen, removing
//!   the curve the ServerKeyExchange names each time. The suite chain's first ECDHE answer
//!   already named the server's favourite curve, so that one costs nothing.
//! - **Server preference**: see [`preference`]: mostly free, one connection when ambiguous.
//! - **SSL 3.0**: one probe, only when TLS 1.0 is accepted (a server that refuses TLS 1.0 with
//!   an alert rather than answering SSL 3.0 does not speak SSL 3.0).
//!
//! A probe that gets no judgeable answer (connection refused or reset before the ClientHello,
//! negotiation failure, timeout) is retried once; a second failure stops the enumeration, and
//! [`Outcome`] keeps what was learnt and names the versions left incomplete.

use std::collections::BTreeMap;

use rdpdoctor_wire::tls::ProtocolVersion;

use super::{preference, universe};

/// `protocol_version` (70): the server does not speak the offered version.
const ALERT_PROTOCOL_VERSION: u8 = 70;

/// Failed probes in a row (across chains) after which the server is taken to have stopped
/// answering.
const MAX_FAILURES_IN_A_ROW: u32 = 3;

/// One ClientHello to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The version offered: `client_version` for TLS 1.0 to 1.2 and SSL 3.0; TLS 1.3 means a
    /// hello with `supported_versions = [TLS 1.3]`.
    pub version: ProtocolVersion,
    /// Cipher suites, in the order to offer them.
    pub suites: Vec<u16>,
    /// supported_groups, in order (empty: no extension, as SSL 3.0 requires).
    pub groups: Vec<u16>,
}

/// A ServerHello (or HelloRetryRequest), reduced to what the planner needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub version: ProtocolVersion,
    pub suite: u16,
    /// TLS 1.3: the key_share or HelloRetryRequest group; TLS ≤ 1.2: the ECDHE curve of the
    /// ServerKeyExchange.
    pub group: Option<u16>,
    /// SHA-256 of the leaf certificate (TLS ≤ 1.2), lower-case hex.
    pub certificate: Option<String>,
}

/// What the server did with a probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Hello(Hello),
    /// A fatal alert, or the connection closed or reset right after the ClientHello without a
    /// TLS byte (Schannel's way of refusing a disabled protocol).
    Refused {
        alert: Option<u8>,
    },
    /// Nothing to judge: the connection, the negotiation or the server's answer failed.
    Failed {
        reason: String,
    },
}

/// Identifies a probe handed out by [`Planner::next_probe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProbeId(usize);

/// What the enumeration established.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Accepted suites per version, in the server's preference order when it has one (else the
    /// enumeration's order); empty when the version is refused. A version whose status is
    /// unknown (enumeration stopped) is absent.
    pub versions: BTreeMap<ProtocolVersion, Vec<u16>>,
    /// Whether the server imposes its own suite order, per version with two or more suites.
    pub server_preference: BTreeMap<ProtocolVersion, bool>,
    /// Groups accepted, in the order the server chose them.
    pub groups: BTreeMap<ProtocolVersion, Vec<u16>>,
    /// Whether SSL 3.0 answered; `None` when not established.
    pub ssl3: Option<bool>,
    /// Leaf certificate SHA-256 per version (TLS ≤ 1.2).
    pub certificates: BTreeMap<ProtocolVersion, String>,
    /// Versions whose list may be incomplete because the enumeration stopped early.
    pub incomplete: Vec<ProtocolVersion>,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug)]
enum Job {
    /// Elimination over one block of a TLS 1.0 - 1.2 version's suites.
    Suites {
        version: ProtocolVersion,
        block: usize,
        remaining: Vec<u16>,
        picks: Vec<u16>,
    },
    /// TLS 1.3: suites and groups eliminated together.
    Tls13(Tls13),
    /// Elimination over named curves with the ECDHE suites of a legacy version.
    Groups {
        version: ProtocolVersion,
        suites: Vec<u16>,
        remaining: Vec<u16>,
        picks: Vec<u16>,
    },
    /// The accepted suites in reverse pick order (see [`preference::check_offer`]).
    Preference {
        version: ProtocolVersion,
        picks: Vec<u16>,
        groups: Vec<u16>,
    },
    Ssl3,
}

#[derive(Clone, Debug, Default)]
struct Tls13 {
    suites_left: Vec<u16>,
    groups_left: Vec<u16>,
    suite_picks: Vec<u16>,
    group_picks: Vec<u16>,
    suites_done: bool,
    groups_done: bool,
    /// The last probe offered both open lists and was refused: the next one offers the
    /// remaining suites with groups known to work, to tell which list ran out.
    disambiguating: bool,
    answered: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Ready,
    InFlight,
    Done,
}

#[derive(Clone, Debug)]
struct Task {
    job: Job,
    state: State,
    retried: bool,
}

/// Progress of one TLS 1.0 - 1.2 version.
#[derive(Clone, Debug, Default)]
struct Legacy {
    blocks: Vec<Vec<u16>>,
    started: Vec<bool>,
    /// Picks per block, once the block's chain ended.
    finished: Vec<Option<Vec<u16>>>,
    /// A protocol_version alert or a lower-version ServerHello was seen.
    refused: bool,
    /// A ServerHello for this version was seen.
    accepted: bool,
    /// The curve named by the first ECDHE answer (the server's favourite of our list).
    top_group: Option<u16>,
    /// Set once every block's chain ended and the result is recorded.
    settled: bool,
}

/// The enumeration planner (see the module doc).
#[derive(Clone, Debug)]
pub struct Planner {
    tasks: Vec<Task>,
    legacy: BTreeMap<ProtocolVersion, Legacy>,
    groups_started: bool,
    aborted: bool,
    failures_in_a_row: u32,
    /// Where [`Planner::next_probe`] looks first.
    cursor: usize,
    out: Outcome,
    /// Accepted suites per version awaiting a preference check.
    pending_order: BTreeMap<ProtocolVersion, Vec<u16>>,
}

impl Default for Planner {
    fn default() -> Self {
        Self::new()
    }
}

impl Planner {
    /// A planner for the full enumeration: TLS 1.3 down to TLS 1.0 (SSL 3.0 when TLS 1.0
    /// answers).
    pub fn new() -> Planner {
        let mut p = Planner {
            tasks: Vec::new(),
            legacy: BTreeMap::new(),
            groups_started: false,
            aborted: false,
            failures_in_a_row: 0,
            cursor: 0,
            out: Outcome::default(),
            pending_order: BTreeMap::new(),
        };
        p.push(Job::Tls13(Tls13 {
            suites_left: universe::suites_for(ProtocolVersion::TLS13),
            groups_left: universe::TLS13_GROUPS.to_vec(),
            ..Tls13::default()
        }));
        for v in &universe::VERSIONS[1..] {
            let blocks = universe::blocks_for(*v);
            let n = blocks.len();
            start_first_block(&mut p, *v, &blocks);
            p.legacy.insert(
                *v,
                Legacy {
                    started: (0..n).map(|b| b == 0).collect(),
                    finished: vec![None; n],
                    blocks,
                    ..Legacy::default()
                },
            );
        }
        p
    }

    fn push(&mut self, job: Job) {
        self.tasks.push(Task {
            job,
            state: State::Ready,
            retried: false,
        });
    }

    /// The next probe to send, if one can go now. `None` while every open chain waits for an
    /// answer, and once the enumeration is over ([`Planner::is_done`]).
    pub fn next_probe(&mut self) -> Option<(ProbeId, Probe)> {
        if self.aborted {
            return None;
        }
        // Round robin over the chains, so every version gets its first answer early (and a
        // server that stops answering mid-way leaves every version partly known).
        let n = self.tasks.len();
        let i = (0..n)
            .map(|k| (self.cursor + k) % n)
            .find(|i| self.tasks[*i].state == State::Ready)?;
        self.cursor = i + 1;
        self.tasks[i].state = State::InFlight;
        Some((ProbeId(i), probe_for(&self.tasks[i].job)))
    }

    /// Whether nothing is in flight and nothing is left to send.
    pub fn is_done(&self) -> bool {
        !self.tasks.iter().any(|t| match t.state {
            State::InFlight => true,
            State::Ready => !self.aborted,
            State::Done => false,
        })
    }

    /// Stop handing out probes (a budget ran out, the server stopped answering); answers for
    /// probes in flight are still taken.
    pub fn abort(&mut self, why: impl Into<String>) {
        if !self.aborted {
            self.aborted = true;
            self.out.notes.push(why.into());
        }
    }

    /// Record the server's answer to a probe.
    pub fn answer(&mut self, id: ProbeId, answer: Answer) {
        let Some(task) = self.tasks.get_mut(id.0) else {
            return;
        };
        if task.state != State::InFlight {
            return;
        }
        if let Answer::Failed { reason } = &answer {
            self.failures_in_a_row += 1;
            if task.retried || self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW || self.aborted {
                // Left open (never handed out again once aborted) so `finish` reports it.
                task.state = State::Ready;
                let reason = reason.clone();
                self.abort(format!(
                    "the enumeration stopped early, the server no longer answered ({reason}); the lists are what was learnt until then"
                ));
            } else {
                task.retried = true;
                task.state = State::Ready;
            }
            return;
        }
        self.failures_in_a_row = 0;
        task.retried = false;
        let job = std::mem::replace(&mut task.job, Job::Ssl3);
        let (job, done) = match job {
            Job::Suites {
                version,
                block,
                remaining,
                picks,
            } => self.on_suites(version, block, remaining, picks, answer),
            Job::Tls13(t) => self.on_tls13(t, answer),
            Job::Groups {
                version,
                suites,
                remaining,
                picks,
            } => self.on_groups(version, suites, remaining, picks, answer),
            Job::Preference {
                version,
                picks,
                groups,
            } => {
                self.on_preference(version, &picks, answer);
                (
                    Job::Preference {
                        version,
                        picks,
                        groups,
                    },
                    true,
                )
            }
            Job::Ssl3 => {
                self.out.ssl3 = Some(matches!(
                    &answer,
                    Answer::Hello(h) if h.version == ProtocolVersion::SSL3
                ));
                (Job::Ssl3, true)
            }
        };
        let task = &mut self.tasks[id.0];
        task.job = job;
        task.state = if done { State::Done } else { State::Ready };
        self.settle();
    }

    fn on_suites(
        &mut self,
        version: ProtocolVersion,
        block: usize,
        mut remaining: Vec<u16>,
        mut picks: Vec<u16>,
        answer: Answer,
    ) -> (Job, bool) {
        let first = picks.is_empty();
        let mut done = true;
        match answer {
            Answer::Hello(h) if h.version == version => {
                if !remaining.contains(&h.suite) {
                    self.note(format!(
                        "{}: the server selected {}, which was not offered; enumeration of this version stopped there",
                        universe::version_name(version),
                        universe::suite_name(h.suite)
                    ));
                } else {
                    self.version_accepted(version, &h);
                    picks.push(h.suite);
                    remaining.retain(|s| *s != h.suite);
                    done = remaining.is_empty();
                }
            }
            Answer::Hello(h) if first && h.version < version => {
                // Answered with an older version: this one is not spoken.
                self.legacy_entry(version).refused = true;
                if version == ProtocolVersion::TLS10 && h.version == ProtocolVersion::SSL3 {
                    self.out.ssl3 = Some(true);
                }
            }
            Answer::Hello(h) => {
                if first {
                    self.legacy_entry(version).refused = true;
                }
                self.note(format!(
                    "{}: the server answered with {} instead; enumeration of this version stopped there",
                    universe::version_name(version),
                    universe::version_name(h.version)
                ));
            }
            Answer::Refused { alert } => {
                if first {
                    if alert == Some(ALERT_PROTOCOL_VERSION) {
                        self.legacy_entry(version).refused = true;
                    } else {
                        // No suite of this block, or the version refused without saying which:
                        // the other blocks decide.
                        self.start_blocks(version);
                    }
                }
            }
            Answer::Failed { .. } => unreachable!("handled by answer()"),
        }
        if done && let Some(l) = self.legacy.get_mut(&version) {
            l.finished[block] = Some(picks.clone());
        }
        (
            Job::Suites {
                version,
                block,
                remaining,
                picks,
            },
            done,
        )
    }

    fn version_accepted(&mut self, version: ProtocolVersion, h: &Hello) {
        let first_time = {
            let l = self.legacy_entry(version);
            let was = l.accepted;
            l.accepted = true;
            !was
        };
        if let Some(c) = &h.certificate {
            self.out
                .certificates
                .entry(version)
                .or_insert_with(|| c.clone());
        }
        if first_time {
            self.start_blocks(version);
            if version == ProtocolVersion::TLS10 && self.out.ssl3.is_none() {
                self.push(Job::Ssl3);
            }
        }
        if universe::is_ecdhe(h.suite)
            && let Some(g) = h.group
        {
            let l = self.legacy_entry(version);
            if l.top_group.is_none() {
                l.top_group = Some(g);
            }
            if version == ProtocolVersion::TLS12 && !self.groups_started {
                self.start_groups(version, g);
            }
        }
    }

    fn start_blocks(&mut self, version: ProtocolVersion) {
        let Some(l) = self.legacy.get_mut(&version) else {
            return;
        };
        let mut jobs = Vec::new();
        for b in 0..l.blocks.len() {
            if !l.started[b] {
                l.started[b] = true;
                jobs.push(Job::Suites {
                    version,
                    block: b,
                    remaining: l.blocks[b].clone(),
                    picks: Vec::new(),
                });
            }
        }
        for j in jobs {
            self.push(j);
        }
    }

    fn start_groups(&mut self, version: ProtocolVersion, top: u16) {
        self.groups_started = true;
        let suites: Vec<u16> = universe::suites_for(version)
            .into_iter()
            .filter(|s| universe::is_ecdhe(*s))
            .take(universe::MAX_SUITES_PER_HELLO)
            .collect();
        let remaining: Vec<u16> = universe::LEGACY_GROUPS
            .iter()
            .copied()
            .filter(|g| *g != top)
            .collect();
        self.push(Job::Groups {
            version,
            suites,
            remaining,
            picks: vec![top],
        });
    }

    fn on_groups(
        &mut self,
        version: ProtocolVersion,
        suites: Vec<u16>,
        mut remaining: Vec<u16>,
        mut picks: Vec<u16>,
        answer: Answer,
    ) -> (Job, bool) {
        let mut done = true;
        match answer {
            Answer::Hello(h) if h.version == version => match h.group {
                Some(g) if remaining.contains(&g) => {
                    picks.push(g);
                    remaining.retain(|x| *x != g);
                    done = remaining.is_empty();
                }
                Some(g) => self.note(format!(
                    "{}: the server chose the curve {}, which was not offered",
                    universe::version_name(version),
                    universe::group_name(g)
                )),
                None => self.note(format!(
                    "{}: an ECDHE answer named no curve (explicit curve parameters?)",
                    universe::version_name(version)
                )),
            },
            _ => {}
        }
        if done {
            self.out.groups.insert(version, picks.clone());
        }
        (
            Job::Groups {
                version,
                suites,
                remaining,
                picks,
            },
            done,
        )
    }

    fn on_tls13(&mut self, mut t: Tls13, answer: Answer) -> (Job, bool) {
        let v13 = ProtocolVersion::TLS13;
        match answer {
            Answer::Hello(h) if h.version == v13 => {
                t.answered = true;
                if t.disambiguating {
                    // The remaining suites work with known groups: the groups had run out.
                    t.disambiguating = false;
                    t.groups_done = true;
                }
                if !t.suites_done {
                    if t.suites_left.contains(&h.suite) {
                        t.suite_picks.push(h.suite);
                        t.suites_left.retain(|s| *s != h.suite);
                        t.suites_done = t.suites_left.is_empty();
                    } else {
                        self.note(format!(
                            "TLSv1.3: the server selected {}, which was not offered",
                            universe::suite_name(h.suite)
                        ));
                        t.suites_done = true;
                    }
                }
                if !t.groups_done {
                    match h.group {
                        Some(g) if t.groups_left.contains(&g) => {
                            t.group_picks.push(g);
                            t.groups_left.retain(|x| *x != g);
                            t.groups_done = t.groups_left.is_empty();
                        }
                        _ => {
                            self.note("TLSv1.3: the server's answer named no offered group; group enumeration stopped");
                            t.groups_done = true;
                        }
                    }
                }
            }
            Answer::Hello(_) | Answer::Refused { .. } if !t.answered => {
                // Not even the full lists: TLS 1.3 is refused (a TLS 1.2 ServerHello means the
                // server ignored supported_versions).
                t.suites_done = true;
                t.groups_done = true;
            }
            _ => {
                if t.disambiguating {
                    t.disambiguating = false;
                    t.suites_done = true;
                } else if t.suites_done {
                    t.groups_done = true;
                } else if t.groups_done {
                    t.suites_done = true;
                } else {
                    t.disambiguating = true;
                }
            }
        }
        let done = t.suites_done && t.groups_done;
        if done {
            if !t.group_picks.is_empty() {
                self.out.groups.insert(v13, t.group_picks.clone());
            }
            if t.suite_picks.is_empty() {
                self.out.versions.insert(v13, Vec::new());
            } else {
                let universe = universe::suites_for(v13);
                self.order_settled(v13, &[(universe, t.suite_picks.clone())]);
            }
        }
        (Job::Tls13(t), done)
    }

    fn on_preference(&mut self, version: ProtocolVersion, picks: &[u16], answer: Answer) {
        let verdict = match &answer {
            Answer::Hello(h) if h.version == version => preference::judge_check(picks, h.suite),
            _ => None,
        };
        let name = universe::version_name(version);
        match verdict {
            Some(server) => {
                self.out.server_preference.insert(version, server);
            }
            None => self.note(format!(
                "{name}: the server's suite order could not be established (it follows neither its own fixed order nor the client's)"
            )),
        }
        let mut list = self.pending_order.remove(&version).unwrap_or_default();
        if verdict == Some(false) {
            list.sort_by_key(|s| universe::order_key(*s));
        }
        self.out.versions.insert(version, list);
    }

    /// Record a version's accepted suites, deciding the order now or after a check probe.
    /// `chains` holds each block's universe and picks.
    fn order_settled(&mut self, version: ProtocolVersion, chains: &[(Vec<u16>, Vec<u16>)]) {
        let picks: Vec<u16> = chains.iter().flat_map(|(_, p)| p.clone()).collect();
        if picks.len() < 2 {
            self.out.versions.insert(version, picks);
            return;
        }
        let consistent = chains
            .iter()
            .all(|(u, p)| preference::follows_client_order(u, p));
        if !consistent {
            self.out.server_preference.insert(version, true);
            self.out.versions.insert(version, picks);
            return;
        }
        let check: Vec<u16> = picks
            .iter()
            .take(universe::MAX_SUITES_PER_HELLO)
            .copied()
            .collect();
        let groups = if version == ProtocolVersion::TLS13 {
            self.out.groups.get(&version).cloned().unwrap_or_default()
        } else {
            universe::LEGACY_GROUPS.to_vec()
        };
        self.pending_order.insert(version, picks);
        self.push(Job::Preference {
            version,
            picks: check,
            groups,
        });
    }

    /// Settle legacy versions whose chains all ended; start the legacy group chain where
    /// TLS 1.2 did not.
    fn settle(&mut self) {
        let mut ready = Vec::new();
        for (v, l) in &self.legacy {
            if l.settled {
                continue;
            }
            let running = (0..l.blocks.len()).any(|b| l.started[b] && l.finished[b].is_none());
            let all_ran = (0..l.blocks.len()).all(|b| l.finished[b].is_some());
            if !running && (all_ran || (l.refused && !l.accepted)) {
                ready.push(*v);
            }
        }
        for v in ready {
            let (chains, accepted) = {
                let l = self.legacy.get_mut(&v).expect("present");
                l.settled = true;
                let chains: Vec<(Vec<u16>, Vec<u16>)> = (0..l.blocks.len())
                    .filter_map(|b| Some((l.blocks[b].clone(), l.finished[b].clone()?)))
                    .collect();
                (chains, l.accepted)
            };
            if !accepted {
                self.out.versions.insert(v, Vec::new());
                if v == ProtocolVersion::TLS10 && self.out.ssl3.is_none() {
                    // A server that refuses TLS 1.0 rather than answering SSL 3.0 does not
                    // speak SSL 3.0.
                    self.out.ssl3 = Some(false);
                }
            } else {
                self.order_settled(v, &chains);
            }
        }
        if !self.groups_started && self.legacy.values().all(|l| l.settled) {
            let target = self
                .legacy
                .iter()
                .rev()
                .find_map(|(v, l)| l.top_group.map(|g| (*v, g)));
            if let Some((v, g)) = target {
                self.start_groups(v, g);
            }
        }
    }

    fn legacy_entry(&mut self, v: ProtocolVersion) -> &mut Legacy {
        self.legacy.entry(v).or_default()
    }

    fn note(&mut self, n: impl Into<String>) {
        self.out.notes.push(n.into());
    }

    /// What was learnt. A version whose chains did not all end (the enumeration stopped) is
    /// listed in `incomplete`, with the suites found so far when it is known to be accepted,
    /// and left out of `versions` when even that is unknown: an empty list always means
    /// refused.
    pub fn finish(mut self) -> Outcome {
        let mut partial: BTreeMap<ProtocolVersion, Vec<u16>> = BTreeMap::new();
        let mut open: Vec<ProtocolVersion> = Vec::new();
        for t in self.tasks.iter().filter(|t| t.state != State::Done) {
            match &t.job {
                Job::Suites { version, picks, .. } => {
                    partial.entry(*version).or_default().extend(picks);
                    open.push(*version);
                }
                Job::Tls13(x) => {
                    partial
                        .entry(ProtocolVersion::TLS13)
                        .or_default()
                        .extend(&x.suite_picks);
                    if !x.group_picks.is_empty() {
                        self.out
                            .groups
                            .insert(ProtocolVersion::TLS13, x.group_picks.clone());
                    }
                    open.push(ProtocolVersion::TLS13);
                }
                Job::Groups { version, picks, .. } => {
                    self.out.groups.insert(*version, picks.clone());
                    open.push(*version);
                }
                // The list is complete; only its order was not established.
                Job::Preference { .. } | Job::Ssl3 => {}
            }
        }
        for (v, list) in std::mem::take(&mut self.pending_order) {
            self.out.versions.insert(v, list);
        }
        for (v, l) in &self.legacy {
            if l.settled {
                continue;
            }
            open.push(*v);
            if l.accepted {
                let mut list: Vec<u16> = l.finished.iter().flatten().flatten().copied().collect();
                for s in partial.get(v).into_iter().flatten() {
                    if !list.contains(s) {
                        list.push(*s);
                    }
                }
                self.out.versions.insert(*v, list);
            }
        }
        if let Some(p) = partial
            .get(&ProtocolVersion::TLS13)
            .filter(|p| !p.is_empty())
        {
            self.out.versions.insert(ProtocolVersion::TLS13, p.clone());
        }
        open.sort();
        open.dedup();
        self.out.incomplete = open;
        self.out
    }
}

/// Start a version's first block during construction (before the version's entry exists).
fn start_first_block(p: &mut Planner, v: ProtocolVersion, blocks: &[Vec<u16>]) {
    if let Some(block) = blocks.first() {
        p.push(Job::Suites {
            version: v,
            block: 0,
            remaining: block.clone(),
            picks: Vec::new(),
        });
    }
}

/// The ClientHello a job sends next.
fn probe_for(job: &Job) -> Probe {
    match job {
        Job::Suites {
            version,
            remaining,
            picks,
            ..
        } => Probe {
            version: *version,
            suites: preference::arrange(remaining, picks.len()),
            groups: universe::LEGACY_GROUPS.to_vec(),
        },
        Job::Tls13(t) => {
            let suites = if t.suites_done {
                t.suite_picks.clone()
            } else {
                preference::arrange(&t.suites_left, t.suite_picks.len())
            };
            let groups = if t.groups_done || t.disambiguating {
                t.group_picks.clone()
            } else {
                t.groups_left.clone()
            };
            Probe {
                version: ProtocolVersion::TLS13,
                suites,
                groups,
            }
        }
        Job::Groups {
            version,
            suites,
            remaining,
            ..
        } => Probe {
            version: *version,
            suites: suites.clone(),
            groups: remaining.clone(),
        },
        Job::Preference {
            version,
            picks,
            groups,
        } => Probe {
            version: *version,
            suites: preference::check_offer(picks),
            groups: groups.clone(),
        },
        Job::Ssl3 => Probe {
            version: ProtocolVersion::SSL3,
            suites: universe::suites_for(ProtocolVersion::SSL3)
                .into_iter()
                .take(universe::MAX_SUITES_PER_HELLO)
                .collect(),
            groups: Vec::new(),
        },
    }
}
