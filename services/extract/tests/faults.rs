//! Faults injected into a running pipeline (dedup and extract as real processes, a stream
//! flowing): SIGKILLs at random moments, the broker stopped for 30 s, Postgres crashed and
//! stopped for 30 s, statement timeouts on locked tables, a rebalance storm and output topics
//! that do not exist yet. Each ends with every input message stored or dead-lettered exactly
//! once and every event id on the output topic, and prints its figures (RELIABILITY.md).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{EXTRACT, Figures, Stack, dedup_bin, synthetic};
use newsflow_testkit::{Broker, PgCluster, Service, TestDb, eventually, kafka_args, logs};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn bin(service: &str) -> PathBuf {
    if service == "dedup" {
        dedup_bin()
    } else {
        PathBuf::from(EXTRACT)
    }
}

/// Small batches so a fault always lands in the middle of many transactions. The consumer
/// settings are the services' defaults (static members: a 60 s session, `kafka.rs`).
fn small_batches() -> Vec<(&'static str, String)> {
    vec![
        ("NEWSFLOW_BATCH_SIZE", "10".to_owned()),
        ("NEWSFLOW_SHUTDOWN_GRACE_MS", "15000".to_owned()),
    ]
}

/// The seed of a test's random choices: `NEWSFLOW_FAULT_SEED` to replay a run, else a fixed one.
fn seed(default: u64) -> u64 {
    let seed = std::env::var("NEWSFLOW_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("random seed {seed} (replay with NEWSFLOW_FAULT_SEED={seed})");
    seed
}

/// One replica the test starts, kills and restarts under its name.
struct Replica {
    service: &'static str,
    /// Static membership name; `None` for a dynamic member.
    slot: Option<String>,
    process: Option<Service>,
}

impl Replica {
    fn name(&self) -> String {
        format!(
            "{}-{}",
            self.service,
            self.slot.as_deref().unwrap_or("dynamic")
        )
    }

    fn start(
        &mut self,
        stack: &Stack,
        extra: &[(&'static str, String)],
    ) -> anyhow::Result<&mut Service> {
        let mut env = small_batches();
        env.extend(extra.iter().cloned());
        let mut s = stack.spawn(&bin(self.service), self.service, self.slot.as_deref(), &env)?;
        s.wait_ready(Duration::from_secs(60))?;
        Ok(self.process.insert(s))
    }
}

fn replica(service: &'static str, slot: Option<&str>) -> Replica {
    Replica {
        service,
        slot: slot.map(str::to_owned),
        process: None,
    }
}

/// The log tails of the running replicas, for a failure message.
/// Prints how often each running replica's outbox relay replaced its producer.
fn print_producer_renewals(replicas: &[Replica]) -> anyhow::Result<()> {
    for r in replicas {
        if let Some(s) = &r.process {
            println!(
                "{}: outbox relay renewed its producer {} times",
                r.name(),
                s.metric("newsflow_outbox_producer_renewals_total")? as u64
            );
        }
    }
    Ok(())
}

fn replica_logs(replicas: &[Replica]) -> String {
    let names: Vec<String> = replicas.iter().map(Replica::name).collect();
    let running: Vec<(&str, &Service)> = replicas
        .iter()
        .zip(&names)
        .filter_map(|(r, n)| Some((n.as_str(), r.process.as_ref()?)))
        .collect();
    logs(&running)
}

/// Waits for the pipeline to drain; on failure the error carries the replicas' log tails.
async fn drain(stack: &Stack, inputs: usize, replicas: &[Replica]) -> anyhow::Result<()> {
    if let Err(e) = stack.wait_extracted(inputs as i64).await {
        anyhow::bail!("{e}{}", replica_logs(replicas));
    }
    Ok(())
}

/// SIGTERMs every running replica: each must exit 0 (drained, committed, flushed).
fn stop_all(replicas: &mut [Replica]) -> anyhow::Result<()> {
    for r in replicas {
        let name = r.name();
        if let Some(mut s) = r.process.take() {
            let code = s.terminate(Duration::from_secs(30))?;
            anyhow::ensure!(
                code == Some(0),
                "{name} exited with {code:?}:\n{}",
                s.log_text()
            );
        }
    }
    Ok(())
}

/// Polls the replicas for `period` while a dependency is down: each must stay alive and
/// report not-ready (`/readyz` not 200) at some point. Returns when each first did.
async fn watch_degraded(
    replicas: &mut [Replica],
    period: Duration,
) -> anyhow::Result<Vec<Option<Duration>>> {
    let started = Instant::now();
    let mut not_ready: Vec<Option<Duration>> = vec![None; replicas.len()];
    while started.elapsed() < period {
        for (r, seen) in replicas.iter_mut().zip(&mut not_ready) {
            let name = r.name();
            let Some(s) = r.process.as_mut() else {
                continue;
            };
            anyhow::ensure!(
                s.is_running(),
                "{name} exited during the fault:\n{}",
                s.log_text()
            );
            if seen.is_none() && s.readiness() != Some(200) {
                *seen = Some(started.elapsed());
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for (r, seen) in replicas.iter().zip(&not_ready) {
        if let Some(s) = &r.process {
            anyhow::ensure!(
                seen.is_some(),
                "{} kept reporting ready during the fault:\n{}",
                r.name(),
                s.log_text()
            );
        }
    }
    Ok(not_ready)
}

/// Waits until every running replica reports ready again.
async fn wait_all_ready(replicas: &[Replica]) -> anyhow::Result<()> {
    let ready = eventually(Duration::from_secs(60), || async {
        Ok(replicas
            .iter()
            .filter_map(|r| r.process.as_ref())
            .all(|s| s.readiness() == Some(200)))
    })
    .await;
    if let Err(e) = ready {
        anyhow::bail!(
            "not ready again after the fault: {e}{}",
            replica_logs(replicas)
        );
    }
    Ok(())
}

fn report(scenario: &str, figures: &Figures, faults: &str, recovery: Duration) {
    println!(
        "FIGURES {scenario}: {} messages ({} originals, {} mentions, {} events); faults: {faults}; \
         recovery {:.1} s (fault end → backlog drained); lost = {}, duplicated = {}",
        figures.inputs,
        figures.originals,
        figures.mentions,
        figures.events,
        recovery.as_secs_f64(),
        figures.lost,
        figures.duplicated
    );
}

/// Feeds `stream` to the raw topic in `chunk`-sized pieces every `every`, in the background.
fn feed_gradually(
    stack: &Stack,
    stream: Vec<Vec<u8>>,
    chunk: usize,
    every: Duration,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let kafka = stack.kafka.clone();
    let topic = stack.topic("raw").to_owned();
    tokio::spawn(async move {
        for piece in stream.chunks(chunk) {
            newsflow_testkit::produce_to(&kafka, &topic, piece).await?;
            tokio::time::sleep(every).await;
        }
        Ok(())
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_ten_times_at_random_moments() -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed(7));
    // A broker of its own: the group coordinator's timing is part of what is tested, and
    // the shared broker's load from other tests must not decide it.
    let broker = Broker::start()?;
    let stack = Stack::on(broker.kafka_args(), TestDb::new().await?, &[]).await?;
    let stream = synthetic(300);
    let inputs = stream.len();
    // One replica per stage: several static members churning at once stall the local broker's
    // group coordinator (scaling.rs covers kills among several replicas).
    let mut replicas = vec![replica("dedup", Some("0")), replica("extract", Some("0"))];
    for r in &mut replicas {
        r.start(&stack, &[])?;
    }
    let feeder = feed_gradually(&stack, stream, 5, Duration::from_millis(700));
    let extracted = || async {
        stack
            .db
            .count("SELECT count(*) FROM articles WHERE extracted_at IS NOT NULL")
            .await
    };

    // Ten kills, alternating dedup and extract, of a random replica after a random delay; the
    // orchestrator's restart is immediate and under the same name (static membership). Before
    // the next kill the pipeline must have moved on, so every kill hits a working stage.
    for kill in 0..10 {
        let delay = Duration::from_millis(rng.random_range(300..3000));
        let victim = kill % 2;
        tokio::time::sleep(delay).await;
        let (accounted, done) = (stack.accounted().await?, extracted().await?);
        let r = &mut replicas[victim];
        if let Some(s) = r.process.as_mut() {
            s.kill()?;
        }
        let killed = Instant::now();
        r.start(&stack, &[])?;
        let moved = eventually(Duration::from_secs(120), || async {
            let all_in = stack.accounted().await? == inputs as i64;
            Ok(if r.service == "dedup" {
                stack.accounted().await? > accounted || all_in
            } else {
                extracted().await? > done
                    || (all_in
                        && stack.db.count("SELECT count(*) FROM articles WHERE duplicate_of IS NULL AND extracted_at IS NULL").await? == 0)
            })
        })
        .await;
        if let Err(e) = moved {
            anyhow::bail!(
                "no progress after kill {}: {e}{}\nbroker log:\n{}",
                kill + 1,
                replica_logs(&replicas),
                broker.log_text()
            );
        }
        println!(
            "kill {}: SIGKILL {} after {} ms at {accounted} of {inputs} accounted, {done} extracted; moving again {:.1} s later",
            kill + 1,
            replicas[victim].name(),
            delay.as_millis(),
            killed.elapsed().as_secs_f64()
        );
    }
    feeder.await??;
    let faults_over = Instant::now();
    if let Err(e) = drain(&stack, inputs, &replicas).await {
        anyhow::bail!("{e}\nbroker log:\n{}", broker.log_text());
    }
    let recovery = faults_over.elapsed();
    let figures = stack.verify_exactly_once(inputs).await?;
    report("sigkill", &figures, "10 SIGKILLs", recovery);
    stop_all(&mut replicas)?;
    stack.db.drop_db().await
}

// The restart used to leave Tansu 0.6.0 unusable: the relays' idempotent producers, whose
// messages had timed out during the outage, bumped their epoch by themselves and the broker's
// storage task panicked on the unknown epoch (now the relay starts a new producer after a failed
// round); and the static members' sessions ran out during the outage, which on this broker can
// leave a group without a leader (now static members get a 60 s session). RELIABILITY.md.
#[tokio::test(flavor = "multi_thread")]
async fn broker_stopped_for_30s_and_restarted() -> anyhow::Result<()> {
    let mut broker = Broker::start()?;
    let stack = Stack::on(broker.kafka_args(), TestDb::new().await?, &[]).await?;
    let stream = synthetic(300);
    let inputs = stream.len();
    let (first, second) = stream.split_at(200);
    stack.feed(first).await?;
    let mut replicas = vec![replica("dedup", Some("0")), replica("extract", Some("0"))];
    for r in &mut replicas {
        r.start(&stack, &[])?;
    }
    // Mid-stream for both stages: dedup has stored some, extract has coded some.
    eventually(Duration::from_secs(120), || async {
        Ok(stack.accounted().await? >= 40
            && stack
                .db
                .count("SELECT count(*) FROM articles WHERE extracted_at IS NOT NULL")
                .await?
                >= 10)
    })
    .await?;

    broker.stop()?;
    println!(
        "broker stopped at {} of {inputs} accounted",
        stack.accounted().await?
    );
    let not_ready = watch_degraded(&mut replicas, Duration::from_secs(30)).await;
    if let Err(e) = not_ready {
        anyhow::bail!("{e}\nbroker log:\n{}", broker.log_text());
    }
    println!("not ready after {not_ready:?} of the outage");
    broker.restart()?;
    let restarted = Instant::now();
    stack.feed(second).await?;
    if let Err(e) = drain(&stack, inputs, &replicas).await {
        anyhow::bail!("{e}\nbroker log:\n{}", broker.log_text());
    }
    let recovery = restarted.elapsed();
    wait_all_ready(&replicas).await?;
    print_producer_renewals(&replicas)?;
    let figures = stack.verify_exactly_once(inputs).await?;
    report(
        "broker",
        &figures,
        "broker down 30 s (SIGTERM, same SQLite file on restart)",
        recovery,
    );
    stop_all(&mut replicas)?;
    stack.db.drop_db().await
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_crash_restart_and_30s_outage() -> anyhow::Result<()> {
    let pg = PgCluster::start()?;
    let stack = Stack::on(kafka_args(), TestDb::on(&pg.admin_url()).await?, &[]).await?;
    let stream = synthetic(300);
    let inputs = stream.len();
    let (first, second) = stream.split_at(150);
    stack.feed(first).await?;
    let mut replicas = vec![replica("dedup", Some("0")), replica("extract", Some("0"))];
    for r in &mut replicas {
        r.start(&stack, &[])?;
    }
    eventually(Duration::from_secs(120), || async {
        Ok(stack.accounted().await? >= 40)
    })
    .await?;

    // A crash: no shutdown checkpoint, every connection cut, crash recovery on start.
    let before = stack.accounted().await?;
    pg.stop("immediate")?;
    pg.start_server()?;
    let crashed = Instant::now();
    // 30 more, or all of the first half when dedup had nearly finished it before the crash
    // (it can: the wait above only asks for 40).
    let target = (before + 30).min(first.len() as i64);
    eventually(Duration::from_secs(60), || async {
        Ok(stack.accounted().await? >= target)
    })
    .await?;
    println!(
        "Postgres crashed at {before} accounted; {target} stored {:.1} s after its restart",
        crashed.elapsed().as_secs_f64()
    );
    for r in &mut replicas {
        let name = r.name();
        if let Some(s) = r.process.as_mut() {
            anyhow::ensure!(s.is_running(), "{name} exited after the crash");
        }
    }

    // Refusing connections for 30 s while more input arrives.
    stack.feed(second).await?;
    pg.stop("fast")?;
    let not_ready = watch_degraded(&mut replicas, Duration::from_secs(30)).await;
    if let Err(e) = not_ready {
        anyhow::bail!("{e}\nPostgres log:\n{}", pg.log_text());
    }
    println!("not ready after {not_ready:?} of the outage");
    pg.start_server()?;
    let restarted = Instant::now();
    drain(&stack, inputs, &replicas).await?;
    let recovery = restarted.elapsed();
    wait_all_ready(&replicas).await?;
    print_producer_renewals(&replicas)?;
    let figures = stack.verify_exactly_once(inputs).await?;
    report(
        "postgres",
        &figures,
        "Postgres crash-restart (immediate) + down 30 s (fast stop)",
        recovery,
    );
    stop_all(&mut replicas)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn statement_timeouts_on_locked_tables_are_retried() -> anyhow::Result<()> {
    use sqlx::Connection as _;

    let stack = Stack::new().await?;
    let stream = synthetic(300);
    let inputs = stream.len();
    let (first, second) = stream.split_at(150);
    stack.feed(first).await?;
    let timeout = [("NEWSFLOW_DB_STATEMENT_TIMEOUT_MS", "2000".to_owned())];
    let mut replicas = vec![replica("dedup", Some("0")), replica("extract", Some("0"))];
    for r in &mut replicas {
        r.start(&stack, &timeout)?;
    }
    eventually(Duration::from_secs(120), || async {
        Ok(stack.accounted().await? >= 40
            && stack
                .db
                .count("SELECT count(*) FROM articles WHERE extracted_at IS NOT NULL")
                .await?
                >= 10)
    })
    .await?;

    // A slow writer: another session holds both tables for 10 s, five statement timeouts long.
    let mut conn = sqlx::PgConnection::connect(&stack.db.url).await?;
    let mut tx = conn.begin().await?;
    sqlx::query("LOCK TABLE articles, events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    stack.feed(second).await?;
    let not_ready = watch_degraded(&mut replicas, Duration::from_secs(10)).await?;
    tx.rollback().await?;
    conn.close().await?;
    let released = Instant::now();
    println!("not ready after {not_ready:?} of the lock");
    drain(&stack, inputs, &replicas).await?;
    let recovery = released.elapsed();

    let mut retries = 0.0;
    for r in &replicas {
        if let Some(s) = &r.process {
            let n = s.metric("newsflow_retries_total")?;
            anyhow::ensure!(
                n > 0.0 && s.log_text().contains("statement timeout"),
                "{} did not retry a timed-out batch ({n} retries):\n{}",
                r.name(),
                s.log_text()
            );
            retries += n;
        }
    }
    let figures = stack.verify_exactly_once(inputs).await?;
    report(
        "statement-timeout",
        &figures,
        &format!("articles+events locked 10 s, 2 s statement timeout, {retries} batch retries"),
        recovery,
    );
    stop_all(&mut replicas)?;
    stack.db.drop_db().await
}

#[tokio::test(flavor = "multi_thread")]
async fn rebalance_storm_while_the_stream_flows() -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed(11));
    // A broker of its own, as in the SIGKILL test.
    let broker = Broker::start()?;
    let stack = Stack::on(broker.kafka_args(), TestDb::new().await?, &[]).await?;
    let stream = synthetic(400);
    let inputs = stream.len();
    // Two static replicas stay (bounced now and then); four dynamic ones come and go.
    let mut replicas = vec![
        replica("dedup", Some("0")),
        replica("extract", Some("0")),
        replica("dedup", None),
        replica("extract", None),
        replica("dedup", None),
        replica("extract", None),
    ];
    for r in &mut replicas[..2] {
        r.start(&stack, &[])?;
    }
    let feeder = feed_gradually(&stack, stream, 10, Duration::from_millis(1000));

    let storm = Instant::now();
    let mut changes = 0;
    let mut step = 0;
    while changes < 12 {
        tokio::time::sleep(Duration::from_millis(rng.random_range(500..2500))).await;
        // Alternate dedup and extract; mostly dynamic members, a static bounce now and then.
        let service = step % 2;
        step += 1;
        let pick = if rng.random_range(0..4) == 0 {
            service
        } else {
            2 + service + 2 * rng.random_range(0..2)
        };
        let r = &mut replicas[pick];
        let name = r.name();
        if let Some(mut s) = r.process.take() {
            let code = s.terminate(Duration::from_secs(30))?;
            anyhow::ensure!(
                code == Some(0),
                "{name} exited with {code:?}:\n{}",
                s.log_text()
            );
            changes += 1;
            println!(
                "{:>5.1} s: {name} left (SIGTERM) at {} accounted",
                storm.elapsed().as_secs_f64(),
                stack.accounted().await?
            );
            if r.slot.is_none() {
                continue;
            }
        }
        r.start(&stack, &[])?;
        changes += 1;
        println!(
            "{:>5.1} s: {name} joined at {} accounted",
            storm.elapsed().as_secs_f64(),
            stack.accounted().await?
        );
    }
    let storm_time = storm.elapsed();
    // The dynamic members leave; the static ones finish the stream.
    stop_all(&mut replicas[2..])?;
    feeder.await??;
    let calm = Instant::now();
    if let Err(e) = drain(&stack, inputs, &replicas).await {
        anyhow::bail!("{e}\nbroker log:\n{}", broker.log_text());
    }
    let recovery = calm.elapsed();
    let figures = stack.verify_exactly_once(inputs).await?;
    report(
        "rebalance-storm",
        &figures,
        &format!(
            "{changes} joins/leaves in {:.0} s (+ final leaves)",
            storm_time.as_secs_f64()
        ),
        recovery,
    );
    stop_all(&mut replicas)?;
    stack.db.drop_db().await
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_output_topics_hold_messages_in_the_outbox_until_created() -> anyhow::Result<()> {
    let stack = Stack::on(kafka_args(), TestDb::new().await?, &["articles", "events"]).await?;
    let stream = synthetic(200);
    let inputs = stream.len();
    stack.feed(&stream).await?;
    // A low threshold so readiness reports the backlog.
    let threshold = [("NEWSFLOW_OUTBOX_NOT_READY", "20".to_owned())];
    let mut replicas = vec![replica("dedup", Some("0")), replica("extract", Some("0"))];
    for r in &mut replicas {
        r.start(&stack, &threshold)?;
    }
    let pending = |topic: &'static str| {
        let stack = &stack;
        async move {
            stack
                .db
                .count(&format!(
                    "SELECT count(*) FROM outbox WHERE topic = '{}'",
                    stack.topic(topic)
                ))
                .await
        }
    };

    // news.articles missing: dedup stores, its outbox grows and it reports not ready.
    let mut samples: Vec<i64> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !(samples.len() >= 3 && samples.last().is_some_and(|n| *n > 20)) {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the outbox did not grow: {samples:?}{}",
            replica_logs(&replicas)
        );
        let n = pending("articles").await?;
        if samples.last() != Some(&n) {
            samples.push(n);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::ensure!(
        samples.windows(2).all(|w| w[0] < w[1]),
        "the outbox shrank while its topic was missing: {samples:?}"
    );
    // Each service counts the outbox of its own topics: dedup is the one held back.
    watch_degraded(&mut replicas[..1], Duration::from_secs(8)).await?;
    println!("articles topic missing: outbox for it grew {samples:?}");

    stack.create_topic("articles").await?;
    let created = Instant::now();
    // Now news.events is the missing one: extract's outbox grows in turn.
    let drained = eventually(Duration::from_secs(120), || async {
        Ok(pending("articles").await? == 0 && pending("events").await? > 20)
    })
    .await;
    if let Err(e) = drained {
        anyhow::bail!(
            "{e}: articles outbox {}, events outbox {}{}",
            pending("articles").await?,
            pending("events").await?,
            replica_logs(&replicas)
        );
    }
    println!(
        "articles topic created: its outbox drained in {:.1} s; events outbox at {}",
        created.elapsed().as_secs_f64(),
        pending("events").await?
    );
    watch_degraded(&mut replicas[1..], Duration::from_secs(8)).await?;

    stack.create_topic("events").await?;
    let created = Instant::now();
    drain(&stack, inputs, &replicas).await?;
    let recovery = created.elapsed();
    wait_all_ready(&replicas).await?;
    let figures = stack.verify_exactly_once(inputs).await?;
    report(
        "output-topics-missing",
        &figures,
        "news.articles then news.events missing, created mid-stream",
        recovery,
    );
    stop_all(&mut replicas)?;
    stack.db.drop_db().await
}
