-- The outbox is relayed one lane per topic (crates/runtime/src/outbox.rs): each lane reads
-- its topic's oldest rows, and the monitor counts the rows of a service's own topics.
CREATE INDEX outbox_topic_id ON outbox (topic, id);
