-- The article spine: consumed offsets, the outbox, articles with their duplicate links, the
-- LSH band index for near-duplicate candidates, and a record of every rejected message.

CREATE TABLE consumer_offsets (
    consumer_group text        NOT NULL,
    topic          text        NOT NULL,
    partition      integer     NOT NULL,
    next_offset    bigint      NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);

CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text        NOT NULL,
    key        bytea,
    payload    bytea       NOT NULL,
    headers    jsonb       NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE articles_id_seq;

CREATE TABLE articles (
    id              bigint PRIMARY KEY DEFAULT nextval('articles_id_seq'),
    -- Deterministic id from canonical URL + content; the key of news.articles messages.
    article_key     text        NOT NULL,
    external_id     text,
    url             text,
    canonical_url   text,
    content_hash    bigint      NOT NULL,
    title           text,
    description     text,
    body            text        NOT NULL,
    source          text,
    language        text,
    authors         jsonb       NOT NULL DEFAULT '[]',
    published_at    timestamptz,
    modified_at     timestamptz,
    ingested_at     timestamptz NOT NULL DEFAULT now(),
    word_count      integer     NOT NULL DEFAULT 0,
    duplicate_of    bigint REFERENCES articles (id),
    duplicate_kind  text CHECK (duplicate_kind IN ('exact_url', 'exact_text', 'near_duplicate', 'truncated')),
    similarity      real,
    story_id        bigint,
    src_topic       text        NOT NULL,
    src_partition   integer     NOT NULL,
    src_offset      bigint      NOT NULL,
    CHECK ((duplicate_of IS NULL) = (duplicate_kind IS NULL)),
    UNIQUE (src_topic, src_partition, src_offset)
);
ALTER SEQUENCE articles_id_seq OWNED BY articles.id;

-- At most one original per canonical URL and per exact text, whatever replicas race.
CREATE UNIQUE INDEX articles_original_url ON articles (canonical_url)
    WHERE duplicate_of IS NULL AND canonical_url IS NOT NULL;
CREATE UNIQUE INDEX articles_original_content ON articles (content_hash)
    WHERE duplicate_of IS NULL;
CREATE INDEX articles_duplicate_of ON articles (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE INDEX articles_published_at ON articles (published_at);
CREATE INDEX articles_key ON articles (article_key);
CREATE INDEX articles_story ON articles (story_id) WHERE story_id IS NOT NULL;

-- MinHash LSH bands of originals: articles sharing a band key are near-duplicate candidates.
CREATE TABLE article_bands (
    band_key   bigint NOT NULL,
    article_id bigint NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (band_key, article_id)
);

-- Every message that could not become an article (its bytes went to the DLQ topic).
CREATE TABLE rejected_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    error_class   text        NOT NULL,
    reason        text        NOT NULL,
    payload_bytes integer     NOT NULL,
    src_topic     text        NOT NULL,
    src_partition integer     NOT NULL,
    src_offset    bigint      NOT NULL,
    rejected_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (src_topic, src_partition, src_offset)
);
CREATE INDEX rejected_messages_class ON rejected_messages (error_class, rejected_at);
