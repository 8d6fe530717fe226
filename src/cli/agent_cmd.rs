//! `ppms-depot agent add|set-password|list`: agents of the staged login (personal id, PIN,
//! TOTP token), and the demo's agent and school password.

use std::io::{BufRead, IsTerminal};

use anyhow::{bail, Context};
use clap::Subcommand;
use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use rand::Rng;

use ppms_depot::auth::agents::AgentStore;
use ppms_depot::auth::otp::{OtpAlgorithm, OtpParams, Token};
use ppms_depot::auth::password::PasswordStore;
use ppms_depot::config::Config;
use ppms_depot::server::{open_state, App};

#[derive(Subcommand)]
pub enum AgentCommand {
    /// Add an agent: prints the token's otpauth:// URI and its QR code (and the PIN if drawn).
    Add {
        /// Personal academic id, e.g. jdupont.
        id: String,
        /// Read the PIN from the first line of standard input (else a 6-digit PIN is drawn).
        #[arg(long)]
        pin_from_stdin: bool,
        /// Digits of a code (6 to 8).
        #[arg(long, default_value_t = 6)]
        digits: u32,
        /// Seconds per code.
        #[arg(long, default_value_t = 30)]
        period: u64,
        /// SHA1, SHA256 or SHA512.
        #[arg(long, default_value = "SHA1")]
        algorithm: String,
    },
    /// Set an agent's own password (stage 3 of crisis-cell members when no LDAP is
    /// configured), read from the first line of standard input.
    SetPassword { id: String },
    /// List personal ids.
    List,
}

/// The first line of standard input, without its line end.
pub fn read_stdin_line(what: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprint!("{what}: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from standard input"))?;
    let line = line.trim_end_matches(['\n', '\r']).to_string();
    if line.is_empty() {
        bail!("no {what} on standard input");
    }
    Ok(line)
}

/// The URI, its QR code and the secret, for the agent's authenticator.
pub fn print_token(token: &Token) -> anyhow::Result<()> {
    let uri = token.uri();
    let qr = QrCode::new(uri.as_bytes()).context("QR code of the URI")?;
    println!("{}", qr.render::<Dense1x2>().quiet_zone(true).build());
    println!("otpauth: {uri}");
    println!("secret:  {} (base32)", token.secret_base32());
    Ok(())
}

pub async fn run(config: Config, command: AgentCommand) -> anyhow::Result<()> {
    let (pool, server_key) = open_state(&config).await?;
    let agents = AgentStore::new(pool.clone(), &server_key);
    match command {
        AgentCommand::Add {
            id,
            pin_from_stdin,
            digits,
            period,
            algorithm,
        } => {
            let params = OtpParams {
                digits,
                period,
                algorithm: OtpAlgorithm::parse(&algorithm)
                    .with_context(|| format!("algorithm {algorithm:?}"))?,
            };
            let (pin, drawn) = if pin_from_stdin {
                (read_stdin_line("PIN")?, false)
            } else {
                (
                    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000)),
                    true,
                )
            };
            let token = agents.add(&id, &pin, params).await?;
            print_token(&token)?;
            println!("agent:   {}", id.trim().to_lowercase());
            if drawn {
                println!("pin:     {pin}");
            }
            eprintln!(
                "The secret and the PIN are shown only now. Passcode = PIN followed by the code."
            );
        }
        AgentCommand::SetPassword { id } => {
            let password = read_stdin_line("password")?;
            PasswordStore::new(pool).set(&id, &password).await?;
            println!("password set for {}", id.trim().to_lowercase());
        }
        AgentCommand::List => {
            for id in agents.list().await? {
                println!("{id}");
            }
        }
    }
    Ok(())
}

/// Personal id of the demo's agent.
const DEMO_AGENT: &str = "agent.demo";
const DEMO_PIN: &str = "1234";
const DEMO_SCHOOL: &str = "ce.0752401C";
const DEMO_SCHOOL_PASSWORD: &str = "demo-arbre-sec";
/// Personal id of the demo's crisis-cell member (listed in the demo's roles file).
pub const DEMO_CRISIS_AGENT: &str = "cellule.demo";
const DEMO_CRISIS_PASSWORD: &str = "demo-cellule";

/// For `demo`: a fresh demo agent and the demo school's password, and how to log in with curl.
pub async fn demo_login(app: &App, base_url: &str) -> anyhow::Result<()> {
    let login = &app.login;
    login.agents.remove(DEMO_AGENT).await?;
    let token = login
        .agents
        .add(DEMO_AGENT, DEMO_PIN, OtpParams::default())
        .await?;
    login
        .passwords
        .set(DEMO_SCHOOL, DEMO_SCHOOL_PASSWORD)
        .await?;
    login.agents.remove(DEMO_CRISIS_AGENT).await?;
    let crisis_token = login
        .agents
        .add(DEMO_CRISIS_AGENT, DEMO_PIN, OtpParams::default())
        .await?;
    login
        .passwords
        .set(DEMO_CRISIS_AGENT, DEMO_CRISIS_PASSWORD)
        .await?;
    let secret = token.secret_base32();
    let crisis_secret = crisis_token.secret_base32();
    println!(
        "\nPortail : {base_url}/connexion (école, puis « PPMS et plans » ; cellule de crise, \
         puis « Arborescence », « Recherche », « Couverture »)"
    );
    println!(
        "  école   : agent {DEMO_AGENT}, code PIN {DEMO_PIN} + oathtool --totp -b {secret} ;\n\
         \x20           étape 3 : compte {DEMO_SCHOOL}, mot de passe {DEMO_SCHOOL_PASSWORD}"
    );
    println!(
        "  cellule : agent {DEMO_CRISIS_AGENT}, code PIN {DEMO_PIN} + oathtool --totp -b \
         {crisis_secret} ;\n\x20           étape 3 : compte {DEMO_CRISIS_AGENT}, mot de passe \
         {DEMO_CRISIS_PASSWORD}"
    );
    println!("  (étape 2 : attendre que le code change, au plus 30 s)");
    println!("\nConnexion en trois étapes (API {base_url}/api/v1/login) :");
    print_token(&token)?;
    println!(
        r#"  agent {DEMO_AGENT}, PIN {DEMO_PIN} ; code = oathtool --totp -b {secret}
  étape 3 : compte {DEMO_SCHOOL}, mot de passe {DEMO_SCHOOL_PASSWORD}

  j=/tmp/ppms-cookies; api={base_url}/api/v1
  csrf() {{ sed -n 's/.*"csrf_token":"\([^"]*\)".*/\1/p'; }}
  pc() {{ echo {DEMO_PIN}$(oathtool --totp -b {secret}); }}
  post() {{ curl -s -c $j -b $j -H "X-CSRF-Token: $t" -H 'Content-Type: application/json' \
    -d "$2" $api/$1; }}
  t=$(curl -s -c $j -b $j $api/login | csrf)
  post login/stage1 "{{\"personal_id\":\"{DEMO_AGENT}\",\"passcode\":\"$(pc)\"}}"
  sleep 30   # attendre le code suivant
  post login/stage2 "{{\"passcode\":\"$(pc)\"}}"
  t=$(post login/stage3 '{{"account":"{DEMO_SCHOOL}","password":"{DEMO_SCHOOL_PASSWORD}"}}' | csrf)
  post mount-keys '{{"label":"PC secrétariat"}}'    # la clé de montage, affichée une fois
  Puis : curl -u '{DEMO_SCHOOL}:<clé>' -T plan.pdf {base_url}/dav/"#
    );
    Ok(())
}
