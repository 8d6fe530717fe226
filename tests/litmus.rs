//! litmus (the WebDAV conformance suite, Debian's `litmus` 0.13) in ARBRE SEC's folder, as
//! ARBRE SEC: all five groups under the permissive test profile, and the props, locks and http
//! groups under the default deposit policy. Each group is run on its own (litmus' wrapper stops
//! at the first failing group) and gives one line, `LITMUS <policy> <group> <n> run <n> passed
//! <n> failed <n> skipped`, that `scripts/test` shows by running these with `--nocapture`.
//!
//! litmus works in a collection it creates (`MKCOL .../litmus/`) in its `begin` test and gives
//! up on the group when that fails. Under the permissive profile every group must pass in full;
//! under the default policy every group must be refused its collection with a clean 403.

#[path = "common/clients.rs"]
mod clients;
mod common;

use std::fmt;
use std::time::Duration;

use common::*;

/// litmus' groups, in the order its wrapper runs them.
const GROUPS: [&str; 5] = ["basic", "copymove", "props", "locks", "http"];

/// What litmus' `begin` says when the server refuses to create its working collection.
const COLLECTION_REFUSED: &str = "Could not create new collection";

/// One group may take this long before it is killed (a full group takes about a second).
const GROUP_LIMIT: Duration = Duration::from_secs(120);

/// One numbered test of a group and its verdict (`pass`, `FAIL`, `SKIPPED`, ...).
#[derive(Debug, Clone)]
struct TestLine {
    name: String,
    verdict: String,
    /// The rest of the line after the verdict word (litmus' reason for a failure).
    detail: String,
}

/// What litmus reported for one group.
#[derive(Debug, Default, Clone)]
struct GroupReport {
    group: String,
    /// `of N tests run: P passed, F failed`.
    run: u32,
    passed: u32,
    failed: u32,
    /// `-> N tests were skipped.`
    skipped: u32,
    /// `-> N warnings were issued.`
    warnings: u32,
    /// Whether the summary line was found at all.
    summarised: bool,
    tests: Vec<TestLine>,
    /// How the group ended when it did not summarise (timeout, crash).
    note: Option<String>,
}

impl GroupReport {
    fn verdict(&self, test: &str) -> Option<&str> {
        self.tests
            .iter()
            .find(|t| t.name == test)
            .map(|t| t.verdict.as_str())
    }

    /// litmus gives up on a group whose `begin` (creating its collection) fails: the reason.
    fn stopped_at_begin(&self) -> Option<&str> {
        self.tests
            .iter()
            .find(|t| t.name == "begin" && t.verdict == "FAIL")
            .map(|t| t.detail.trim_start_matches('('))
    }

    fn failures(&self) -> Vec<String> {
        self.tests
            .iter()
            .filter(|t| t.verdict == "FAIL")
            .map(|t| format!("{} {}", t.name, t.detail))
            .collect()
    }
}

impl fmt::Display for GroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.summarised {
            let note = self.note.as_deref().unwrap_or("no summary");
            return write!(f, "{} not run ({note})", self.group);
        }
        write!(
            f,
            "{} {} run {} passed {} failed {} skipped",
            self.group, self.run, self.passed, self.failed, self.skipped
        )?;
        match self.stopped_at_begin() {
            Some(reason) if reason.contains(COLLECTION_REFUSED) => {
                let status = reason.rsplit(": ").next().unwrap_or(reason);
                write!(
                    f,
                    " (stopped at begin: MKCOL of its collection got {status}, as the deposit \
                     policy requires)"
                )?;
            }
            Some(reason) => write!(f, " (stopped at begin: {reason})")?,
            None => {}
        }
        Ok(())
    }
}

/// Parses the output of one litmus group.
fn parse(group: &str, output: &str) -> GroupReport {
    let mut report = GroupReport {
        group: group.to_string(),
        ..GroupReport::default()
    };
    for raw in output.lines() {
        // litmus redraws a test's line with carriage returns; the last drawing is the result.
        let line = raw.rsplit('\r').next().unwrap_or(raw).trim();
        if let Some(rest) = line.strip_prefix("<- summary for `") {
            let counts = rest.split_once("tests run:");
            if let Some((head, tail)) = counts {
                report.summarised = true;
                report.run = last_number(head);
                report.passed = number_before(tail, "passed");
                report.failed = number_before(tail, "failed");
            }
        } else if line.starts_with("<- all tests skipped for `") {
            report.summarised = true;
        } else if line.starts_with("-> ") && line.contains("skipped") {
            report.skipped = first_number(line);
        } else if line.starts_with("-> ") && line.contains("warning") {
            report.warnings = first_number(line);
        } else if let Some(test) = test_line(line) {
            report.tests.push(test);
        } else if let Some(after) = line.strip_prefix("....") {
            // After a warning, the test's verdict comes on a line of its own:
            // `    ...................... pass (with 1 warning)`.
            let (word, _) = verdict(after.trim_start_matches('.'));
            if let Some(last) = report.tests.last_mut() {
                if last.verdict == "WARNING" && !word.is_empty() {
                    last.verdict = word;
                }
            }
        }
    }
    report
}

/// ` 3. options............... pass` → options, pass. The name is padded with dots to 22
/// columns; a longer name is followed by one space.
fn test_line(line: &str) -> Option<TestLine> {
    let (number, rest) = line.split_once(". ")?;
    number.trim().parse::<u32>().ok()?;
    let rest = rest.trim_start();
    let (name, after) = rest.split_once(' ').unwrap_or((rest, ""));
    let (verdict, detail) = verdict(after);
    Some(TestLine {
        name: name.trim_end_matches('.').to_string(),
        verdict,
        detail,
    })
}

/// `FAIL (reason)` → (FAIL, (reason)); `WARNING: text` → (WARNING, text).
fn verdict(text: &str) -> (String, String) {
    let text = text.trim();
    let (word, detail) = text.split_once(' ').unwrap_or((text, ""));
    (
        word.trim_end_matches(':').to_string(),
        detail.trim().to_string(),
    )
}

fn numbers(text: &str) -> Vec<u32> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn first_number(text: &str) -> u32 {
    numbers(text).first().copied().unwrap_or(0)
}

fn last_number(text: &str) -> u32 {
    numbers(text).last().copied().unwrap_or(0)
}

/// In `14 passed, 2 failed.`, the number right before `word`.
fn number_before(text: &str, word: &str) -> u32 {
    text.split_once(word)
        .map(|(before, _)| last_number(before))
        .unwrap_or(0)
}

/// Runs each of `groups` on its own (litmus' wrapper stops at the first failing group) against
/// ARBRE SEC's folder, as ARBRE SEC.
async fn run_groups(server: &TestServer, profile: &str, groups: &[&str]) -> Vec<GroupReport> {
    let url = format!("{}{ARBRE_SEC_FOLDER}", server.dav);
    // litmus writes debug.log and child.log in its working directory.
    let workdir = tempfile::tempdir().expect("litmus work dir");
    let mut reports = Vec::new();
    for group in groups {
        let mut litmus = clients::command("litmus");
        litmus
            .env("TESTS", group)
            .current_dir(workdir.path())
            .arg(&url)
            .arg(&server.arbre_sec.account)
            .arg(&server.arbre_sec.secret);
        let ran = clients::run(litmus, None, GROUP_LIMIT).await;
        let mut report = parse(group, &ran.stdout);
        if !report.summarised {
            report.note = Some(if ran.timed_out {
                format!("killed after {GROUP_LIMIT:?}")
            } else {
                format!("ended without a summary, {:?}", ran.status)
            });
            eprintln!("litmus {group} ({profile}) gave no summary:\n{ran}");
        }
        reports.push(report);
    }
    reports
}

/// Prints, in one piece, one marker line per group, its failures, and a table.
fn print_report(profile: &str, reports: &[GroupReport]) {
    // A new line first: libtest has just printed `test <name> ... ` without one.
    let mut out = String::from("\n");
    for r in reports {
        out += &format!("LITMUS {profile} {r}\n");
        for failure in r.failures() {
            if r.stopped_at_begin().is_none() {
                out += &format!("    {} FAIL {failure}\n", r.group);
            }
        }
    }
    out += &format!("litmus, {profile} policy, in {ARBRE_SEC_FOLDER} as ARBRE SEC:\n");
    out += &format!(
        "  {:<9} {:>4} {:>7} {:>7} {:>8} {:>9}\n",
        "group", "run", "passed", "failed", "skipped", "warnings"
    );
    for r in reports {
        if r.summarised {
            let stopped = if r.stopped_at_begin().is_some() {
                "  stopped at begin"
            } else {
                ""
            };
            out += &format!(
                "  {:<9} {:>4} {:>7} {:>7} {:>8} {:>9}{stopped}\n",
                r.group, r.run, r.passed, r.failed, r.skipped, r.warnings
            );
        } else {
            let note = r.note.as_deref().unwrap_or("no summary");
            out += &format!("  {:<9} not run: {note}\n", r.group);
        }
    }
    print!("{out}");
}

/// Checks what every group must show however far it got: litmus reached the server, counted
/// consistently, and either got past `begin` or was refused its collection with a clean 403.
/// Returns whether the group got past `begin`.
fn check_group(profile: &str, r: &GroupReport) -> bool {
    assert!(r.summarised, "litmus {profile}: {r}");
    assert_eq!(r.passed + r.failed, r.run, "{profile} {r}");
    assert_eq!(
        r.verdict("init"),
        Some("pass"),
        "{profile} {r}: {:?}",
        r.tests
    );
    match r.verdict("begin") {
        Some("pass") => true,
        Some("FAIL") => {
            let reason = r.stopped_at_begin().unwrap_or_default();
            assert!(
                reason.contains(COLLECTION_REFUSED) && reason.contains("403 Forbidden"),
                "{profile} {}: begin may fail only on a clean 403 to MKCOL: {reason}",
                r.group
            );
            false
        }
        other => panic!("{profile} {r}: begin gave {other:?}: {:?}", r.tests),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litmus_suite_permissive_profile() {
    let server = TestServer::start_with(|c| c.policy_file = policy_path("permissive.toml")).await;
    let reports = run_groups(&server, "permissive", &GROUPS).await;
    print_report("permissive", &reports);
    assert_eq!(reports.len(), GROUPS.len());
    for r in &reports {
        assert!(
            check_group("permissive", r),
            "{r}: litmus must get past begin"
        );
        assert_eq!(r.failed, 0, "permissive {r}: {:?}", r.failures());
        assert_eq!(r.skipped, 0, "permissive {r}: every test must run");
        assert!(r.run > 0 && r.passed == r.run, "permissive {r}");
    }
}

/// Under the default deposit policy a school never creates a folder, so litmus, which works
/// in a collection of its own, is refused at `begin` by every group: what is checked here is
/// that the refusal is a clean 403 for an authenticated school, not a 401, 404 or 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn litmus_suite_default_policy() {
    let server = TestServer::start().await;
    let groups = ["props", "locks", "http"];
    let reports = run_groups(&server, "default", &groups).await;
    print_report("default", &reports);
    for r in &reports {
        let entered = check_group("default", r);
        assert!(!entered, "default policy: {} created a collection", r.group);
    }
    let made_folders: Vec<_> = server
        .stored_files()
        .into_iter()
        .filter(|f| f.contains("litmus"))
        .collect();
    assert!(made_folders.is_empty(), "{made_folders:?}");
}

/// The parser on the shapes of litmus 0.13's output: carriage-return redraws, names that fill
/// their column, a warning whose verdict comes on the next line, skips and the summary.
#[test]
fn litmus_output_is_parsed() {
    let output = "-> running `locks':\n\
\r 0. init.................. \r 0. init.................. pass\n\
\r 1. begin................. \r 1. begin................. pass\n\
\r 2. cond_put_corrupt_token WARNING: PUT failed with 412 not 423\n\
    ...................... pass (with 1 warning)\n\
    ...................... \r 3. fail_cond_put_unlocked pass\n\
\r 4. lock_shared........... \r 4. lock_shared........... FAIL (LOCK: 501 Not Implemented)\n\
\r 5. notowner_modify....... \r 5. notowner_modify....... SKIPPED\n\
-> 1 test was skipped.\n\
<- summary for `locks': of 5 tests run: 4 passed, 1 failed. 80.0%\n\
-> 1 warning was issued.\n";
    let r = parse("locks", output);
    assert!(r.summarised);
    assert_eq!((r.run, r.passed, r.failed), (5, 4, 1));
    assert_eq!((r.skipped, r.warnings), (1, 1));
    assert_eq!(r.verdict("cond_put_corrupt_token"), Some("pass"));
    assert_eq!(r.verdict("fail_cond_put_unlocked"), Some("pass"));
    assert_eq!(r.verdict("notowner_modify"), Some("SKIPPED"));
    assert_eq!(
        r.failures(),
        vec!["lock_shared (LOCK: 501 Not Implemented)"]
    );
    assert!(r.stopped_at_begin().is_none());
    assert_eq!(r.to_string(), "locks 5 run 4 passed 1 failed 1 skipped");

    let refused = parse(
        "http",
        "\r 0. init.................. pass\n\
\r 1. begin................. FAIL (Could not create new collection `/x/litmus/' for tests: \
403 Forbidden\n\
Server must allow `MKCOL /x/litmus/' for tests to proceed)\n\
<- summary for `http': of 2 tests run: 1 passed, 1 failed. 50.0%\n",
    );
    assert_eq!((refused.run, refused.passed, refused.failed), (2, 1, 1));
    assert!(refused
        .stopped_at_begin()
        .unwrap()
        .ends_with("403 Forbidden"));
    assert!(!parse("http", "litmus: crashed\n").summarised);
}
