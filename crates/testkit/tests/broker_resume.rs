//! Guards the broker itself: records produced in multi-record batches, partly consumed, then
//! resumed from an offset inside a batch must all arrive. (Tansu's `memory://` engine loses
//! records here; the stack uses `sqlite://`. A broker change that loses data fails this test.)

use std::time::Duration;

use newsflow_testkit::{kafka_args, topics};
use rdkafka::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

fn read_from(topic: &str, offset: i64, n: usize) -> anyhow::Result<Vec<(i64, Vec<u8>)>> {
    let consumer: BaseConsumer = newsflow_runtime::kafka::client_config(
        &kafka_args(),
        &[
            ("group.id", "newsflow-resume-check"),
            ("enable.auto.commit", "false"),
        ],
    )
    .create()?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(offset))?;
    consumer.assign(&tpl)?;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    while out.len() < n && std::time::Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m?;
            out.push((m.offset(), m.payload().unwrap_or_default().to_vec()));
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread")]
async fn resuming_inside_a_produced_batch_loses_nothing() -> anyhow::Result<()> {
    let names = topics(&["resume"], 1).await?;
    let topic = &names["resume"];
    // Linger so the producer sends batches of ~100 records.
    let producer: FutureProducer = newsflow_runtime::kafka::client_config(
        &kafka_args(),
        &[
            ("linger.ms", "200"),
            ("batch.num.messages", "100"),
            ("enable.idempotence", "true"),
        ],
    )
    .create()?;
    let payloads: Vec<Vec<u8>> = (0..300)
        .map(|i| format!("record-{i:03}").into_bytes())
        .collect();
    let sends = payloads.iter().map(|p| {
        let record: FutureRecord<'_, (), [u8]> = FutureRecord::to(topic).payload(p.as_slice());
        producer.send(record, Duration::from_secs(30))
    });
    for r in futures::future::join_all(sends).await {
        r.map_err(|(e, _)| e)?;
    }

    let first = read_from(topic, 0, 150)?;
    assert_eq!(first.len(), 150);
    // "Restart" and resume at offset 150, in the middle of the second batch.
    let rest = read_from(topic, 150, 150)?;
    let offsets: Vec<i64> = rest.iter().map(|(o, _)| *o).collect();
    assert_eq!(
        offsets,
        (150..300).collect::<Vec<i64>>(),
        "records lost or reordered on resume"
    );
    for (offset, payload) in &rest {
        assert_eq!(payload, &payloads[*offset as usize]);
    }
    Ok(())
}
