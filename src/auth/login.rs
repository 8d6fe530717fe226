//! The staged login: (1) personal id + passcode (PIN then the token's code), (2) the passcode
//! again with a strictly newer code, (3) the school's account and password, or a crisis-cell
//! member's own password; in this order, in one session, stages 2 and 3 within the stage
//! timeout of stage 1. Every refusal of credentials says the same thing whatever was wrong;
//! every step, failure and lockout is audited without any secret.

use std::sync::Arc;

use super::agents::{valid_id, AgentStore};
use super::clock::Clock;
use super::ldap::{LdapAuth, LdapError};
use super::password::{verify_blocking, PasswordStore, MAX_SECRET_CHARS};
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
const STAGE_EVENTS: [&str; 4] = ["", "login_stage1", "login_stage2", "login_stage3"];

impl Login {
    pub fn now(&self) -> i64 {
        self.clock.now() as i64
    }

    /// Seconds a session lives before it is logged in: twice the stage timeout, so that
    /// sessions opened and abandoned do not pile up for the full session lifetime.
    pub fn login_window_secs(&self) -> i64 {
        2 * self.settings.stage_timeout_secs.max(60) as i64
    }

    fn audit(&self, event: &'static str, outcome: &'static str, who: Option<&str>, at: &Attempt) {
        self.audit_with(event, outcome, who, None, None, at);
    }

    fn audit_with(
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
    async fn check_lock(&self, keys: &[String], who: &str, at: &Attempt) -> Result<(), LoginError> {
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
    async fn fail(
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
    fn out_of_order(&self, session: &Session, stage: usize, at: &Attempt) -> LoginError {
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
    async fn check_deadline(
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
    async fn check_passcode(
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

    /// Checks `password` of `account` with LDAP when configured, else the embedded store;
    /// the second value says whether LDAP puts the account in the crisis-cell group.
    async fn check_password(
        &self,
        account: &str,
        password: &str,
    ) -> Result<(bool, bool), LoginError> {
        if password.chars().count() > MAX_SECRET_CHARS {
            return Ok((false, false));
        }
        match &self.ldap {
            Some(ldap) => Ok(ldap
                .authenticate(account, password)
                .await?
                .map_or((false, false), |who| (true, who.crisis_cell))),
            None => Ok((self.passwords.verify(account, password).await?, false)),
        }
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
        let (password_ok, ldap_crisis) = if school.is_some() || own {
            self.check_password(&account, password).await?
        } else {
            // Someone else's personal account: refused, after the same work.
            let _ = verify_blocking(None, password.to_string()).await;
            (false, false)
        };
        let helpdesk = self.roles.is_helpdesk(&id);
        let role = match (password_ok, school) {
            (false, _) => None,
            (true, Some(rne)) => Some(SessionRole::School(rne)),
            (true, None) if ldap_crisis || self.roles.is_crisis_cell(&id) => {
                Some(SessionRole::CrisisCell)
            }
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

/// Why the login could not be set up from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Roles(#[from] super::roles::RolesError),
    #[error(transparent)]
    Ldap(#[from] LdapError),
}

/// The login service the configuration describes, over the state database.
pub fn build(
    config: &crate::config::Config,
    pool: sqlx::SqlitePool,
    server_key: &super::ServerKey,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
) -> Result<Login, SetupError> {
    let roles = if config.roles_file.as_os_str().is_empty() {
        Roles::embedded_default()
    } else {
        Roles::from_path(&config.roles_file)?
    };
    let ldap = if config.ldap_url.trim().is_empty() {
        None
    } else {
        let ca = &config.ldap_tls_ca_file;
        Some(LdapAuth::new(super::ldap::LdapSettings {
            url: config.ldap_url.trim().to_string(),
            bind_dn_template: config.ldap_bind_dn_template.clone(),
            search_base: config.ldap_search_base.clone(),
            search_filter: config.ldap_search_filter.clone(),
            search_bind_dn: config.ldap_search_bind_dn.clone(),
            search_bind_password: config.ldap_search_bind_password.clone(),
            starttls: config.ldap_starttls,
            tls_ca_file: (!ca.as_os_str().is_empty()).then(|| ca.clone()),
            crisis_group_dn: config.ldap_crisis_group_dn.clone(),
            timeout: std::time::Duration::from_secs(config.ldap_timeout_secs.max(1)),
        })?)
    };
    Ok(Login {
        agents: AgentStore::new(pool.clone(), server_key),
        passwords: PasswordStore::new(pool.clone()),
        sessions: SessionStore::new(pool.clone()),
        throttle: Throttle::new(
            pool,
            super::throttle::ThrottleLimits {
                account_failures: config.lockout_account_failures,
                ip_failures: config.lockout_ip_failures,
                window_secs: config.lockout_window_secs,
                lockout_secs: config.lockout_secs,
            },
        ),
        ldap,
        roles,
        clock,
        settings: LoginSettings {
            stage_timeout_secs: config.login_stage_timeout_secs,
            max_failures: config.login_max_failures,
            session_lifetime_secs: config.session_lifetime_secs,
            school_account_prefixes: config.school_account_prefixes.clone(),
        },
        audit,
    })
}
