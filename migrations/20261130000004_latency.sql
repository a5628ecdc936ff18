-- When each article entered the pipeline: the Kafka timestamp of the raw message (the
-- producer's CreateTime, or the broker's LogAppendTime when the topic is set so). With
-- extracted_at it gives the end-to-end latency, produce → events committed.
ALTER TABLE articles ADD COLUMN produced_at timestamptz;
