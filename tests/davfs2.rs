//! davfs2 (Linux): the school folder mounted as a file system, a file copied in, the mount
//! released; the deposit lands prefixed, as with every other client. Needs root and FUSE, as
//! `scripts/test` has them (it installs davfs2).

#[path = "common/clients.rs"]
mod clients;
mod common;

use std::time::Duration;

use common::*;

const LIMIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn davfs2_mount_copy_and_release_deposits_the_file() {
    clients::require("mount.davfs");
    let server = TestServer::start().await;
    let work = tempfile::tempdir().unwrap();
    // mount.davfs drops to its own user: the mount point must be reachable by it.
    let open = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(work.path(), open).unwrap();
    let mount_point = work.path().join("mnt");
    std::fs::create_dir_all(&mount_point).unwrap();
    // davfs2 escapes the URL itself: it is given with its spaces.
    let url = format!("{}/75001/E E PU ARBRE SEC/", server.dav);
    let secrets = clients::write_file(
        work.path(),
        "secrets",
        format!(
            "\"{url}\" {} {}\n",
            server.arbre_sec.account, server.arbre_sec.secret
        )
        .as_bytes(),
    );
    std::fs::set_permissions(
        &secrets,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let conf = clients::write_file(
        work.path(),
        "davfs2.conf",
        format!(
            "secrets {}\nuse_locks 1\ndelay_upload 0\n",
            secrets.display()
        )
        .as_bytes(),
    );

    let mut mount = clients::command("mount");
    mount
        .args(["-t", "davfs", "-o"])
        .arg(format!("conf={}", conf.display()));
    mount.arg(&url).arg(&mount_point);
    let mounted = clients::run(mount, None, LIMIT).await;
    assert!(
        mounted.success(),
        "mount.davfs failed (root and FUSE needed): {mounted}"
    );

    let content = pdf("davfs2");
    let source = clients::write_file(work.path(), "plan davfs2.pdf", &content);
    let copied = std::fs::copy(&source, mount_point.join("plan davfs2.pdf"));
    let mut umount = clients::command("umount");
    umount.arg(&mount_point);
    let released = clients::run(umount, None, LIMIT).await;
    copied.expect("copy into the mounted folder");
    assert!(released.success(), "umount: {released}");

    let stored = server.data_dir().join("0752401C/0752401C-plan davfs2.pdf");
    assert_eq!(
        std::fs::read(&stored).unwrap(),
        content,
        "{:?}",
        server.stored_files()
    );
    let latest: Vec<String> = server
        .stored_files()
        .into_iter()
        .filter(|f| !f.contains(".versions"))
        .collect();
    assert_eq!(
        latest,
        vec!["0752401C/0752401C-plan davfs2.pdf".to_string()]
    );
}
