-- A small known world for the report tests: two stories about the June 2024 Russia–North
-- Korea summit and its aftermath, five articles from three outlets (one syndicated copy, one
-- exact-URL re-post), six events with their mentions, and three rejected messages.

INSERT INTO stories (id, title, first_seen, last_seen, article_count, copy_count, source_count) VALUES
 (1, 'Putin and Kim sign mutual defense treaty in Pyongyang', '2024-06-19 03:00+00', '2024-06-19 05:00+00', 2, 1, 2),
 (2, 'Blinken in Seoul as allies weigh response',              '2024-06-20 09:00+00', '2024-06-20 10:00+00', 1, 1, 1);

INSERT INTO articles (id, article_key, url, canonical_url, content_hash, title, body, source, language,
                      published_at, ingested_at, word_count, duplicate_of, duplicate_kind, similarity,
                      story_id, src_topic, src_partition, src_offset) VALUES
 (1, 'k1', 'https://apnews.com/article/russia-north-korea-treaty', 'https://apnews.com/article/russia-north-korea-treaty', 101,
  'Putin and Kim sign mutual defense treaty',
  'PYONGYANG, North Korea (AP) — Russian President Vladimir Putin and North Korean leader Kim Jong Un signed a comprehensive strategic partnership treaty on Wednesday.',
  'apnews.com', 'en', '2024-06-19 02:30+00', '2024-06-19 03:00+00', 25, NULL, NULL, NULL, 1, 'news.articles.raw', 0, 1),
 (2, 'k2', 'https://www.reuters.com/world/putin-kim-treaty', 'https://www.reuters.com/world/putin-kim-treaty', 102,
  'Russia, North Korea pledge mutual help against aggression',
  'Vladimir Putin and Kim Jong Un signed a pact on Wednesday that includes a pledge of mutual assistance.',
  'reuters.com', 'en', '2024-06-19 03:40+00', '2024-06-19 04:00+00', 18, NULL, NULL, NULL, 1, 'news.articles.raw', 0, 2),
 (3, 'k3', 'https://news.yahoo.com/putin-kim-treaty', 'https://news.yahoo.com/putin-kim-treaty', 103,
  'Putin and Kim sign mutual defense treaty',
  'PYONGYANG, North Korea (AP) — Russian President Vladimir Putin and North Korean leader Kim Jong Un signed a comprehensive strategic partnership treaty on Wednesday.',
  'yahoo.com', 'en', '2024-06-19 04:50+00', '2024-06-19 05:00+00', 25, 1, 'near_duplicate', 0.92, 1, 'news.articles.raw', 1, 1),
 (4, 'k4', 'https://www.reuters.com/world/blinken-seoul', 'https://www.reuters.com/world/blinken-seoul', 104,
  'Blinken meets South Korean officials in Seoul',
  'SEOUL (Reuters) — U.S. Secretary of State Antony Blinken met South Korean officials on Thursday. South Korea criticized Russia over the treaty.',
  'reuters.com', 'en', '2024-06-20 08:30+00', '2024-06-20 09:00+00', 24, NULL, NULL, NULL, 2, 'news.articles.raw', 1, 2),
 (5, 'k5', 'https://www.reuters.com/world/blinken-seoul?utm_source=x', 'https://www.reuters.com/world/blinken-seoul', 105,
  'Blinken meets South Korean officials in Seoul',
  'SEOUL (Reuters) — U.S. Secretary of State Antony Blinken met South Korean officials on Thursday. South Korea criticized Russia over the treaty.',
  'reuters.com', 'en', '2024-06-20 08:30+00', '2024-06-20 10:00+00', 24, 4, 'exact_url', 1.0, 2, 'news.articles.raw', 2, 1);
SELECT setval('articles_id_seq', 5);
SELECT setval(pg_get_serial_sequence('stories', 'id'), 2);

-- The coder version of these events is the reported one (the `events` view shows it).
INSERT INTO coder_versions (version, reported) VALUES ('test-1', true);
INSERT INTO events (event_id, event_date, date_precision, source_code, source_name, source_country, source_role,
                    target_code, target_name, target_country, target_role, cameo_code, root_code, quad_class,
                    goldstein, plover, place_name, place_country, place_lat, place_lon, num_mentions,
                    num_articles, num_sources, avg_confidence, first_seen, last_seen, story_id, coder_version) VALUES
 ('5f0c1d2e3a4b5c6d7e8f901a2b3c4d5e', '2024-06-19', 'day', 'RUSGOV', 'Vladimir Putin', 'RUS', 'GOV',
  'PRKGOV', 'Kim Jong Un', 'PRK', 'GOV', '057', 5, 1, 8.0, 'AGREE', 'Pyongyang', 'PRK', 39.0392, 125.7625,
  3, 2, 2, 0.9, '2024-06-19 03:00+00', '2024-06-19 04:00+00', 1, 'test-1'),
 ('9a8b7c6d5e4f30211203a4b5c6d7e8f9', '2024-06-19', 'day', 'RUSGOV', 'Vladimir Putin', 'RUS', 'GOV',
  'PRKGOV', 'Kim Jong Un', 'PRK', 'GOV', '042', 4, 1, 1.9, 'CONSULT', 'Pyongyang', 'PRK', 39.0392, 125.7625,
  2, 2, 2, 0.8, '2024-06-19 03:00+00', '2024-06-19 05:00+00', 1, 'test-1'),
 ('0b1c2d3e4f5061728394a5b6c7d8e9f0', '2024-06-20', 'day', 'USAGOV', 'Antony Blinken', 'USA', 'GOV',
  'KORGOV', 'South Korea', 'KOR', 'GOV', '040', 4, 1, 1.0, 'CONSULT', 'Seoul', 'KOR', 37.5665, 126.9780,
  1, 1, 1, 0.85, '2024-06-20 09:00+00', '2024-06-20 09:00+00', 2, 'test-1'),
 ('1c2d3e4f5061728394a5b6c7d8e9f0a1', '2024-06-20', 'day', 'KORGOV', 'South Korea', 'KOR', 'GOV',
  'RUSGOV', 'Russia', 'RUS', 'GOV', '111', 11, 3, -2.0, 'ACCUSE', 'Seoul', 'KOR', 37.5665, 126.9780,
  1, 1, 1, 0.7, '2024-06-20 09:00+00', '2024-06-20 09:00+00', 2, 'test-1'),
 ('2d3e4f5061728394a5b6c7d8e9f0a1b2', '2024-06-21', 'day', 'USAGOV', 'United States', 'USA', 'GOV',
  'PRKGOV', 'North Korea', 'PRK', 'GOV', '163', 16, 4, -8.0, 'SANCTION', NULL, NULL, NULL, NULL,
  1, 1, 1, 0.6, '2024-06-20 09:00+00', '2024-06-20 09:00+00', NULL, 'test-1'),
 ('3e4f5061728394a5b6c7d8e9f0a1b2c3', '2024-05-30', 'day', 'PRKMIL', 'North Korean military', 'PRK', 'MIL',
  NULL, NULL, NULL, NULL, '190', 19, 4, -10.0, 'ASSAULT', NULL, 'PRK', NULL, NULL,
  1, 1, 1, 0.5, '2024-06-20 09:00+00', '2024-06-20 09:00+00', NULL, 'test-1');

INSERT INTO event_mentions (event_id, article_id, sentence_no, sentence, in_title, sentence_start, sentence_end,
                            source_start, source_end, target_start, target_end, action_start, action_end,
                            action_text, date_source, confidence, is_copy, source, mentioned_at, coder_version) VALUES
 -- the treaty: 3 mentions from 2 outlets (AP headline and lead, Reuters lead)
 ('5f0c1d2e3a4b5c6d7e8f901a2b3c4d5e', 1, 0, 'Putin and Kim sign mutual defense treaty', true, 0, 40,
  0, 5, 10, 13, 14, 18, 'sign', 'published', 0.9, false, 'apnews.com', '2024-06-19 03:00+00', 'test-1'),
 ('5f0c1d2e3a4b5c6d7e8f901a2b3c4d5e', 1, 1, 'Russian President Vladimir Putin and North Korean leader Kim Jong Un signed a comprehensive strategic partnership treaty on Wednesday.', false, 30, 162,
  18, 32, 57, 68, 69, 75, 'signed', 'weekday', 0.95, false, 'apnews.com', '2024-06-19 03:00+00', 'test-1'),
 ('5f0c1d2e3a4b5c6d7e8f901a2b3c4d5e', 2, 1, 'Vladimir Putin and Kim Jong Un signed a pact on Wednesday that includes a pledge of mutual assistance.', false, 0, 102,
  0, 14, 19, 30, 31, 37, 'signed', 'weekday', 0.85, false, 'reuters.com', '2024-06-19 04:00+00', 'test-1'),
 -- the state visit: AP and its syndicated copy on Yahoo
 ('9a8b7c6d5e4f30211203a4b5c6d7e8f9', 1, 2, 'Putin arrived in Pyongyang for a state visit.', false, 163, 208,
  0, 5, NULL, NULL, 6, 13, 'arrived', 'published', 0.8, false, 'apnews.com', '2024-06-19 03:00+00', 'test-1'),
 ('9a8b7c6d5e4f30211203a4b5c6d7e8f9', 3, 2, 'Putin arrived in Pyongyang for a state visit.', false, 163, 208,
  0, 5, NULL, NULL, 6, 13, 'arrived', 'published', 0.8, true, 'yahoo.com', '2024-06-19 05:00+00', 'test-1'),
 -- Seoul: talks, criticism, sanctions, and background
 ('0b1c2d3e4f5061728394a5b6c7d8e9f0', 4, 1, 'U.S. Secretary of State Antony Blinken met South Korean officials on Thursday.', false, 17, 95,
  24, 38, 43, 66, 39, 42, 'met', 'weekday', 0.85, false, 'reuters.com', '2024-06-20 09:00+00', 'test-1'),
 ('1c2d3e4f5061728394a5b6c7d8e9f0a1', 4, 2, 'South Korea criticized Russia over the treaty.', false, 96, 142,
  0, 11, 23, 29, 12, 22, 'criticized', 'published', 0.7, false, 'reuters.com', '2024-06-20 09:00+00', 'test-1'),
 ('2d3e4f5061728394a5b6c7d8e9f0a1b2', 4, 3, 'Washington imposed new sanctions on North Korea on Friday.', false, 143, 201,
  0, 10, 35, 46, 11, 26, 'imposed sanctions', 'weekday', 0.6, false, 'reuters.com', '2024-06-20 09:00+00', 'test-1'),
 ('3e4f5061728394a5b6c7d8e9f0a1b2c3', 4, 4, 'North Korean forces fired artillery on May 30.', false, 202, 248,
  0, 19, NULL, NULL, 20, 25, 'fired', 'explicit', 0.5, false, 'reuters.com', '2024-06-20 09:00+00', 'test-1');

INSERT INTO rejected_messages (error_class, reason, payload_bytes, src_topic, src_partition, src_offset, rejected_at) VALUES
 ('invalid_json', 'expected value at line 1 column 1', 17, 'news.articles.raw', 0, 10, '2024-06-19 06:00+00'),
 ('invalid_json', 'EOF while parsing an object', 40, 'news.articles.raw', 0, 11, '2024-06-19 07:00+00'),
 ('no_text', 'no usable text in body, maintext, text, content or html', 120, 'news.articles.raw', 1, 12, '2024-06-20 08:00+00');
