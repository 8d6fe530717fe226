//! The checks the login stages share: locks, counted failures, stages out of order, the stage
//! deadline, the passcode (PIN + code of a new time step) and the stage-3 password; and the
//! audit lines they write.

use super::{Attempt, Login, LoginError, STAGE_EVENTS};
use crate::audit::AuditEvent;
use crate::auth::password::{verify_blocking, MAX_SECRET_CHARS};
use crate::auth::session::Session;
use crate::auth::throttle::KeyKind;

/// What stage 3's password check found.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PasswordCheck {
    /// The password is the account's.
    pub ok: bool,
    /// LDAP puts the account in `ldap_crisis_group_dn`.
    pub ldap_crisis_cell: bool,
    /// LDAP puts the account in `ldap_helpdesk_group_dn`.
    pub ldap_helpdesk: bool,
}

impl Login {
    pub(super) fn audit(
        &self,
        event: &'static str,
        outcome: &'static str,
        who: Option<&str>,
        at: &Attempt,
    ) {
        self.audit_with(event, outcome, who, None, None, at);
    }

    pub(super) fn audit_with(
        &self,
        event: &'static str,
        outcome: &'static str,
        who: Option<&str>,
        rne: Option<String>,
        reason: Option<&str>,
        at: &Attempt,
    ) {
        self.audit.record(AuditEvent {
            event,
            outcome,
            principal: who.map(str::to_string),
            rne,
            reason: reason.map(str::to_string),
            client_ip: Some(at.client_ip.clone()),
            user_agent: at.user_agent.clone(),
            ..AuditEvent::default()
        });
    }

    /// Refuses when the agent, account or address is locked (audited).
    pub(super) async fn check_lock(
        &self,
        keys: &[String],
        who: &str,
        at: &Attempt,
    ) -> Result<(), LoginError> {
        if self.throttle.locked(keys, self.clock.now()).await? {
            self.audit_with(
                "login_locked",
                "refused",
                Some(who),
                None,
                Some("locked"),
                at,
            );
            return Err(LoginError::Locked);
        }
        Ok(())
    }

    /// Counts a failure against every key and the session; audits; sends the session back to
    /// stage 1 after `max_failures`.
    pub(super) async fn fail(
        &self,
        session: &mut Session,
        stage: usize,
        keys: &[(String, KeyKind)],
        who: &str,
        reason: &str,
        at: &Attempt,
    ) -> Result<LoginError, LoginError> {
        self.audit_with(
            STAGE_EVENTS[stage],
            "failed",
            Some(who),
            None,
            Some(reason),
            at,
        );
        let mut locked = false;
        for (key, kind) in keys {
            if self.throttle.fail(key, *kind, self.clock.now()).await? {
                locked = true;
                self.audit_with("login_locked", "locked", Some(who), None, Some(key), at);
            }
        }
        session.failures += 1;
        let back_to_start =
            stage > 1 && session.failures >= i64::from(self.settings.max_failures.max(1));
        if back_to_start {
            session.restart();
            self.audit_with(
                "login_restart",
                "refused",
                Some(who),
                None,
                Some(reason),
                at,
            );
        }
        self.sessions.save(session).await?;
        Ok(if locked {
            LoginError::Locked
        } else {
            LoginError::Refused { back_to_start }
        })
    }

    /// Refuses a stage asked out of order (audited; not a credential failure).
    pub(super) fn out_of_order(&self, session: &Session, stage: usize, at: &Attempt) -> LoginError {
        let who = session.agent.as_deref();
        self.audit_with(
            STAGE_EVENTS[stage],
            "refused",
            who,
            None,
            Some("out of order"),
            at,
        );
        LoginError::Refused {
            back_to_start: false,
        }
    }

    /// Stage 2 and 3 deadline; an expired session starts again.
    pub(super) async fn check_deadline(
        &self,
        session: &mut Session,
        stage: usize,
        at: &Attempt,
    ) -> Result<(), LoginError> {
        let deadline = session.stage1_at.unwrap_or(0) + self.settings.stage_timeout_secs as i64;
        if self.now() > deadline {
            let who = session.agent.clone();
            session.restart();
            self.sessions.save(session).await?;
            self.audit_with(
                STAGE_EVENTS[stage],
                "expired",
                who.as_deref(),
                None,
                None,
                at,
            );
            return Err(LoginError::Expired);
        }
        Ok(())
    }

    /// PIN and code of `passcode` for `agent`: the time step of the code when both are right
    /// and the step is later than `after` and than every step accepted before (then recorded).
    pub(super) async fn check_passcode(
        &self,
        agent_id: &str,
        passcode: &str,
        after: Option<i64>,
    ) -> Result<Option<u64>, LoginError> {
        let agent = self.agents.load(agent_id).await?;
        let digits = agent
            .as_ref()
            .map_or(6, |a| a.token.params().digits as usize);
        let chars: Vec<char> = passcode.trim().chars().collect();
        let usable = chars.len() > digits && chars.len() <= MAX_SECRET_CHARS;
        let split = chars.len().saturating_sub(digits);
        let pin: String = chars[..split].iter().collect();
        let code: String = chars[split..].iter().collect();
        let pin_ok = verify_blocking(agent.as_ref().map(|a| a.pin_hash.clone()), pin).await;
        let Some(agent) = agent else { return Ok(None) };
        let step = agent.token.matching_step(&code, self.clock.now());
        let (true, true, Some(step)) = (usable, pin_ok, step) else {
            return Ok(None);
        };
        if after.is_some_and(|after| step as i64 <= after) {
            return Ok(None);
        }
        if !self.agents.accept_step(&agent.id, step).await? {
            return Ok(None);
        }
        Ok(Some(step))
    }

    /// Checks `password` of `account` with LDAP when configured, else the embedded store,
    /// with the LDAP groups the account is in.
    pub(super) async fn check_password(
        &self,
        account: &str,
        password: &str,
    ) -> Result<PasswordCheck, LoginError> {
        let refused = PasswordCheck::default();
        if password.chars().count() > MAX_SECRET_CHARS {
            return Ok(refused);
        }
        match &self.ldap {
            Some(ldap) => Ok(ldap
                .authenticate(account, password)
                .await?
                .map_or(refused, |who| PasswordCheck {
                    ok: true,
                    ldap_crisis_cell: who.crisis_cell,
                    ldap_helpdesk: who.helpdesk,
                })),
            None => Ok(PasswordCheck {
                ok: self.passwords.verify(account, password).await?,
                ..refused
            }),
        }
    }
}
