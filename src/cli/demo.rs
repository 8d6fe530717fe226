//! `ppms-depot demo`: the server on embedded defaults (the real Paris directory, the default
//! policy) in `./demo-data`, with fresh mount keys for two schools and the crisis cell, and
//! the instructions to mount the drive.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use ppms_depot::auth::{IssuedKey, KeySubject};
use ppms_depot::config::Config;
use ppms_depot::directory::Rne;
use ppms_depot::server::{bind, reload_tls_on_sighup, self_signed, serve, App};

#[derive(Args)]
pub struct DemoArgs {
    /// Where the demo keeps deposits and state.
    #[arg(long, default_value = "demo-data")]
    dir: PathBuf,
    /// Address to listen on [default: PPMS_DEPOT_LISTEN, else 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    /// Serve HTTPS with a self-signed certificate made for the demo (kept in the demo folder).
    #[arg(long)]
    tls: bool,
}

const DEMO_LABEL: &str = "démo";
const CRISIS_ACCOUNT: &str = "cellule.demo";

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir = std::path::absolute(&args.dir)?;
    let mut config = Config::load(None)?;
    if let Some(listen) = &args.listen {
        config.listen = listen.clone();
    }
    config.data_dir = dir.join("deposits");
    config.state_dir = dir.join("state");
    if config.roles_file.as_os_str().is_empty() {
        config.roles_file = write_demo_roles(&dir)?;
    }
    let mut certificate = None;
    if args.tls {
        let (cert, key) = self_signed(&config.state_dir.join("tls"))?;
        config.tls_cert_file = cert.clone();
        config.tls_key_file = key;
        certificate = Some(cert);
    }

    let listener = bind(&config.listen).await.with_context(|| {
        format!(
            "listening on {} (choose another with --listen)",
            config.listen
        )
    })?;
    let app = Arc::new(App::build(config).await?);
    for key in app.keys.list().await? {
        if key.label == DEMO_LABEL && key.revoked_at.is_none() {
            app.keys.revoke(&key.id).await?;
        }
    }
    let school = |rne: &str| KeySubject::School {
        account: format!("ce.{rne}"),
        rne: Rne::parse(rne).expect("demo RNE is valid"),
    };
    let arbre_sec = app
        .keys
        .issue(&school("0752401C"), DEMO_LABEL, None)
        .await?;
    let louvois = app
        .keys
        .issue(&school("0754825M"), DEMO_LABEL, None)
        .await?;
    let cell = KeySubject::CrisisCell {
        account: CRISIS_ACCOUNT.into(),
    };
    let crisis = app.keys.issue(&cell, DEMO_LABEL, None).await?;
    let scheme = if certificate.is_some() {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{}/dav/", listener.local_addr()?);
    print_instructions(&url, &dir, &arbre_sec, &louvois, &crisis);
    super::agent_cmd::demo_login(&app, url.trim_end_matches("/dav/")).await?;
    if let Some(cert) = certificate {
        println!(
            "\nHTTPS avec un certificat autosigné : {cert}\n  curl --cacert {cert} ...  \
             (ou -k), rclone --no-check-certificate, cadaver : accepter le certificat.",
            cert = cert.display()
        );
    }
    reload_tls_on_sighup(&app)?;
    serve(app, listener, super::shutdown_signal()).await?;
    Ok(())
}

/// The demo's roles file: its crisis-cell member, so the crisis cell's pages can be tried.
fn write_demo_roles(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("roles.toml");
    let text = format!(
        "# Written by `ppms-depot demo`: the demo's crisis-cell member.\n\
         crisis_cell = [\"{}\"]\nhelpdesk = []\n",
        super::agent_cmd::DEMO_CRISIS_AGENT
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn print_instructions(
    url: &str,
    dir: &std::path::Path,
    a: &IssuedKey,
    l: &IssuedKey,
    c: &IssuedKey,
) {
    println!(
        "\
ppms-depot — démonstration
  Données : {dir}
  WebDAV  : {url}

Clés de montage (affichées une seule fois, renouvelées à chaque lancement) :
  E E PU ARBRE SEC (0752401C)  compte {a_acc}  clé {a_key}
  E E PU LOUVOIS   (0754825M)  compte {l_acc}  clé {l_key}
  Cellule de crise             compte {c_acc}  clé {c_key}

Déposer un fichier (l'école ne voit que son dossier ; le fichier est préfixé par son RNE) :
  curl -u '{a_acc}:{a_key}' -T plan.pdf {url}
  curl -u '{c_acc}:{c_key}' -X PROPFIND -H 'Depth: 1' '{url}75001/E%20E%20PU%20ARBRE%20SEC/'

cadaver :
  cadaver {url}        (identifiant {a_acc}, mot de passe : la clé), puis « put plan.pdf »

rclone :
  rclone copy plan.pdf ':webdav,url=\"{url}\",vendor=other,\
    user={a_acc},pass='\"$(rclone obscure '{a_key}')\"':'

Windows (Explorateur) : Ce PC → « Connecter un lecteur réseau » → Dossier : {url}
  → « Se connecter à l'aide d'informations d'identification différentes » → compte et clé.
  (Windows n'envoie le mot de passe en HTTP simple que si BasicAuthLevel vaut 2 ; en production
  le serveur est en HTTPS.)
macOS (Finder) : Aller → « Se connecter au serveur… » (⌘K) → {url} → compte et clé.

Arrêt : Ctrl-C.",
        dir = dir.display(),
        a_acc = a.account,
        a_key = a.secret,
        l_acc = l.account,
        l_key = l.secret,
        c_acc = c.account,
        c_key = c.secret,
    );
}
