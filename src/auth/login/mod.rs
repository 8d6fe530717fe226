//! The staged login: (1) personal id + passcode (PIN then the token's code), (2) the passcode
//! again with a strictly newer code, (3) the school's account and password, or a crisis-cell
//! member's own password; in this order, in one session, stages 2 and 3 within the stage
//! timeout of stage 1. Every refusal of credentials says the same thing whatever was wrong;
//! every step, failure and lockout is audited without any secret. The checks the stages share
//! are in `guards`, the service's setup from the configuration in `build`.

mod build;
mod guards;

use std::sync::Arc;

pub use build::{build, SetupError};

use super::agents::{valid_id, AgentStore};
use super::clock::Clock;
use super::ldap::{LdapAuth, LdapError};
use super::password::{verify_blocking, PasswordStore};
use super::roles::Roles;
use super::session::{Session, SessionRole, SessionStore, Stage};
use super::throttle::{KeyKind, Throttle};
use crate::audit::{AuditEvent, AuditLog};
use crate::directory::account_rne;

/// Settings of the login, from the configuration.
#[derive(Debug, Clone)]
pub struct LoginSettings {
    /// Seconds after stage 1 within which stages 2 and 3 must be done.
    pub stage_timeout_secs: u64,
    /// Failures in one session after which it goes back to stage 1.
    pub max_failures: u32,
    /// Seconds a session lives.
    pub session_lifetime_secs: u64,
    /// Prefixes of school account names (`ce.`).
    pub school_account_prefixes: Vec<String>,
}

/// Why a stage was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong credentials, whatever the stage or field (also a stage out of order).
    #[error("identifiants incorrects")]
    Refused { back_to_start: bool },
    /// The agent, account or client address is locked for a while.
    #[error("trop d'essais : réessayez plus tard")]
    Locked,
    /// Stage 2 or 3 came after the stage timeout: start again.
    #[error("délai dépassé : recommencez à l'étape 1")]
    Expired,
    #[error("state database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("agents: {0}")]
    Agents(#[from] super::agents::AgentError),
    #[error("password store: {0}")]
    Password(#[from] super::password::PasswordError),
    #[error(transparent)]
    Ldap(#[from] LdapError),
}

/// Who is trying, for throttling and the audit trail.
#[derive(Debug, Clone, Default)]
pub struct Attempt {
    pub client_ip: String,
    pub user_agent: Option<String>,
}

/// The login service shared by the API (and later the portal).
pub struct Login {
    pub agents: AgentStore,
    pub passwords: PasswordStore,
    pub sessions: SessionStore,
    pub throttle: Throttle,
    pub ldap: Option<LdapAuth>,
    pub roles: Roles,
    pub clock: Arc<dyn Clock>,
    pub settings: LoginSettings,
    pub audit: AuditLog,
}

/// Stage names in audit lines.
pub(super) const STAGE_EVENTS: [&str; 4] = ["", "login_stage1", "login_stage2", "login_stage3"];

impl Login {
    pub fn now(&self) -> i64 {
        self.clock.now() as i64
    }

    /// Seconds a session lives before it is logged in: twice the stage timeout, so that
    /// sessions opened and abandoned do not pile up for the full session lifetime.
    pub fn login_window_secs(&self) -> i64 {
        2 * self.settings.stage_timeout_secs.max(60) as i64
    }

    /// Stage 1: personal id and passcode. Always allowed: it starts the login again.
    pub async fn stage1(
        &self,
        session: &mut Session,
        personal_id: &str,
        passcode: &str,
        at: &Attempt,
    ) -> Result<(), LoginError> {
        session.restart();
        let id = personal_id.trim().to_lowercase();
        let shown = if valid_id(&id) {
            id.as_str()
        } else {
            "[invalide]"
        };
        let agent_key = format!("agent:{id}");
        let ip_key = format!("ip:{}", at.client_ip);
        self.check_lock(&[agent_key.clone(), ip_key.clone()], shown, at)
            .await?;
        let step = if valid_id(&id) {
            self.check_passcode(&id, passcode, None).await?
        } else {
            None
        };
        let Some(step) = step else {
            let keys = [(agent_key, KeyKind::Account), (ip_key, KeyKind::Ip)];
            return Err(self.fail(session, 1, &keys, shown, "passcode", at).await?);
        };
        session.stage = Stage::FirstCode;
        session.agent = Some(id.clone());
        session.stage1_step = Some(step as i64);
        session.stage1_at = Some(self.now());
        session.expires_at = session
            .expires_at
            .max(self.now() + self.login_window_secs());
        self.sessions.save(session).await?;
        self.audit(STAGE_EVENTS[1], "ok", Some(&id), at);
        Ok(())
    }

    /// Stage 2: the passcode again, with a code of a later time step.
    pub async fn stage2(
        &self,
        session: &mut Session,
        passcode: &str,
        at: &Attempt,
    ) -> Result<(), LoginError> {
        if session.stage != Stage::FirstCode {
            return Err(self.out_of_order(session, 2, at));
        }
        self.check_deadline(session, 2, at).await?;
        let id = session.agent.clone().unwrap_or_default();
        let agent_key = format!("agent:{id}");
        let ip_key = format!("ip:{}", at.client_ip);
        self.check_lock(&[agent_key.clone(), ip_key.clone()], &id, at)
            .await?;
        let step = self
            .check_passcode(&id, passcode, session.stage1_step)
            .await?;
        if step.is_none() {
            let keys = [(agent_key, KeyKind::Account), (ip_key, KeyKind::Ip)];
            return Err(self.fail(session, 2, &keys, &id, "second code", at).await?);
        }
        session.stage = Stage::SecondCode;
        self.sessions.save(session).await?;
        self.audit(STAGE_EVENTS[2], "ok", Some(&id), at);
        Ok(())
    }

    /// Stage 3: a school account and its password, or the agent's own account and password
    /// (crisis cell, helpdesk). Returns the new cookie value: the session id changes here.
    pub async fn stage3(
        &self,
        session: &mut Session,
        account: &str,
        password: &str,
        at: &Attempt,
    ) -> Result<String, LoginError> {
        if session.stage != Stage::SecondCode {
            return Err(self.out_of_order(session, 3, at));
        }
        self.check_deadline(session, 3, at).await?;
        let id = session.agent.clone().unwrap_or_default();
        let account = account.trim().to_string();
        let account_key = format!("account:{}", account.to_lowercase());
        let agent_key = format!("agent:{id}");
        let ip_key = format!("ip:{}", at.client_ip);
        let keys = [agent_key.clone(), account_key.clone(), ip_key.clone()];
        self.check_lock(&keys, &id, at).await?;
        let school = account_rne(&account, &self.settings.school_account_prefixes);
        let own = account.eq_ignore_ascii_case(&id);
        let checked = if school.is_some() || own {
            self.check_password(&account, password).await?
        } else {
            // Someone else's personal account: refused, after the same work.
            let _ = verify_blocking(None, password.to_string()).await;
            Default::default()
        };
        // LDAP groups speak for the agent only when stage 3 bound as the agent's own account.
        let helpdesk = self.roles.is_helpdesk(&id) || (own && checked.ldap_helpdesk);
        let crisis_cell = self.roles.is_crisis_cell(&id) || (own && checked.ldap_crisis_cell);
        let role = match (checked.ok, school) {
            (false, _) => None,
            (true, Some(rne)) => Some(SessionRole::School(rne)),
            (true, None) if crisis_cell => Some(SessionRole::CrisisCell),
            (true, None) if helpdesk => Some(SessionRole::Helpdesk),
            (true, None) => None,
        };
        let Some(role) = role else {
            let keys = [
                (agent_key, KeyKind::Account),
                (account_key, KeyKind::Account),
                (ip_key, KeyKind::Ip),
            ];
            return Err(self.fail(session, 3, &keys, &id, "account", at).await?);
        };
        self.throttle.clear(&agent_key).await?;
        self.throttle.clear(&account_key).await?;
        let cookie = self.sessions.rotate(session).await?;
        session.stage = Stage::Done;
        session.failures = 0;
        session.account = Some(if own { id.clone() } else { account.clone() });
        session.helpdesk = helpdesk;
        session.expires_at = self.now() + self.settings.session_lifetime_secs as i64;
        let rne = match &role {
            SessionRole::School(rne) => Some(rne.to_string()),
            _ => None,
        };
        let role_name = role.name();
        session.role = Some(role);
        self.sessions.save(session).await?;
        self.audit.record(AuditEvent {
            event: STAGE_EVENTS[3],
            outcome: "ok",
            principal: Some(id.clone()),
            role: Some(role_name),
            rne,
            client_ip: Some(at.client_ip.clone()),
            user_agent: at.user_agent.clone(),
            ..AuditEvent::default()
        });
        Ok(cookie)
    }

    /// Ends a session (audited when it was logged in).
    pub async fn logout(&self, session: &Session, at: &Attempt) -> Result<(), LoginError> {
        self.sessions.delete(session).await?;
        if session.stage == Stage::Done {
            self.audit("logout", "ok", session.agent.as_deref(), at);
        }
        Ok(())
    }
}
