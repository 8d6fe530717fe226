//! A real OpenLDAP `slapd` for tests: a throwaway slapd.conf (mdb backend) and an LDIF of
//! agents, schools, a crisis-cell group and a helpdesk group in a temp directory, loaded with
//! `slapadd`, served on 127.0.0.1 and a free port, stopped when dropped.
#![allow(dead_code)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SUFFIX: &str = "dc=ppms,dc=test";
pub const CRISIS_GROUP: &str = "cn=cellule-de-crise,ou=groups,dc=ppms,dc=test";
pub const HELPDESK_GROUP: &str = "cn=guichet-unique,ou=groups,dc=ppms,dc=test";
pub const PEOPLE_TEMPLATE: &str = "uid={account},ou=people,dc=ppms,dc=test";
/// Passwords in the directory.
pub const JDUPONT_PASSWORD: &str = "jd-ldap-password";
pub const MMARTIN_PASSWORD: &str = "mm-ldap-password";
pub const GDURAND_PASSWORD: &str = "gd-ldap-password";
pub const ARBRE_SEC_LDAP_PASSWORD: &str = "arbre-sec-ldap";
/// Longest wait for slapd to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running slapd.
pub struct Slapd {
    /// `ldap://127.0.0.1:<port>` (StartTLS offered there when started with TLS).
    pub url: String,
    /// `ldaps://127.0.0.1:<port>` when started with TLS.
    pub ldaps_url: Option<String>,
    /// The self-signed certificate (PEM) of a TLS slapd, to trust as its CA.
    pub ca_file: Option<std::path::PathBuf>,
    child: Child,
    _dir: tempfile::TempDir,
}

fn ldif() -> String {
    format!(
        "\
dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
o: ppms test
dc: ppms

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=schools,{SUFFIX}
objectClass: organizationalUnit
ou: schools

dn: ou=groups,{SUFFIX}
objectClass: organizationalUnit
ou: groups

dn: uid=jdupont,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: jdupont
cn: Jeanne Dupont
sn: Dupont
userPassword: {JDUPONT_PASSWORD}

dn: uid=mmartin,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: mmartin
cn: Marc Martin
sn: Martin
userPassword: {MMARTIN_PASSWORD}

dn: uid=gdurand,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: gdurand
cn: Guy Durand
sn: Durand
userPassword: {GDURAND_PASSWORD}

dn: uid=ce.0752401C,ou=schools,{SUFFIX}
objectClass: account
objectClass: simpleSecurityObject
uid: ce.0752401C
userPassword: {ARBRE_SEC_LDAP_PASSWORD}

dn: uid=ce.0754825M,ou=schools,{SUFFIX}
objectClass: account
objectClass: simpleSecurityObject
uid: ce.0754825M
userPassword: louvois-ldap

dn: {CRISIS_GROUP}
objectClass: groupOfNames
cn: cellule-de-crise
member: uid=jdupont,ou=people,{SUFFIX}

dn: {HELPDESK_GROUP}
objectClass: groupOfUniqueNames
cn: guichet-unique
uniqueMember: uid=gdurand,ou=people,{SUFFIX}
"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

impl Slapd {
    /// Starts slapd; panics with the reason when it cannot (slapd missing: `bash scripts/test`
    /// installs it).
    pub fn start() -> Slapd {
        Slapd::launch(false)
    }

    /// Starts slapd with a self-signed certificate for 127.0.0.1: StartTLS on `url`, and
    /// LDAPS on `ldaps_url`.
    pub fn start_tls() -> Slapd {
        Slapd::launch(true)
    }

    fn launch(tls: bool) -> Slapd {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path();
        std::fs::create_dir(path.join("db")).unwrap();
        let mut tls_conf = String::new();
        let mut ca_file = None;
        if tls {
            let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
            std::fs::write(path.join("cert.pem"), made.cert.pem()).unwrap();
            std::fs::write(path.join("key.pem"), made.key_pair.serialize_pem()).unwrap();
            tls_conf = format!(
                "TLSCertificateFile {dir}/cert.pem\nTLSCertificateKeyFile {dir}/key.pem\n",
                dir = path.display()
            );
            ca_file = Some(path.join("cert.pem"));
        }
        let conf = format!(
            "\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
{tls_conf}database mdb
maxsize 10485760
suffix \"{SUFFIX}\"
rootdn \"cn=admin,{SUFFIX}\"
rootpw admin-test-only
directory {dir}/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by * read
",
            dir = path.display()
        );
        let conf_path = path.join("slapd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        std::fs::write(path.join("data.ldif"), ldif()).unwrap();
        let loaded = Command::new("slapadd")
            .arg("-f")
            .arg(&conf_path)
            .arg("-l")
            .arg(path.join("data.ldif"))
            .output()
            .expect("slapadd (Debian package slapd) must be installed: bash scripts/test");
        assert!(loaded.status.success(), "slapadd: {loaded:?}");
        let port = free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let mut listen = format!("{url}/");
        let mut ldaps_url = None;
        let mut ports = vec![port];
        if tls {
            let tls_port = free_port();
            let ldaps = format!("ldaps://127.0.0.1:{tls_port}");
            listen = format!("{listen} {ldaps}/");
            ldaps_url = Some(ldaps);
            ports.push(tls_port);
        }
        let child = Command::new("slapd")
            .arg("-f")
            .arg(&conf_path)
            .arg("-h")
            .arg(listen)
            .arg("-d")
            .arg("0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("slapd (Debian package slapd) must be installed: bash scripts/test");
        let mut slapd = Slapd {
            url,
            ldaps_url,
            ca_file,
            child,
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if ports
                .iter()
                .all(|port| TcpStream::connect(("127.0.0.1", *port)).is_ok())
            {
                break;
            }
            if let Ok(Some(status)) = slapd.child.try_wait() {
                panic!("slapd exited: {status}");
            }
            assert!(started.elapsed() < START_TIMEOUT, "slapd did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        slapd
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
