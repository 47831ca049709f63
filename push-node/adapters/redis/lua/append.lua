-- Appends a message to a user's inbox and returns its position with the user's presence, in one step;
-- on a single Redis, also puts the message on the stream of each node in that presence.
-- KEYS: meta, inbox, presence.
-- ARGV: message JSON, new epoch, max length, ttl ms, min id, dedupe since (a stream id, or '' for none),
--       meta ttl ms, the message JSON's opening '{"id":"…"', then to send it on to the nodes: the node
--       streams' key before and after the node id ('' not to send), the user id as JSON, the node
--       streams' max length.
-- Returns {epoch, offset, prev, presence as a flat field/value list}.
-- With dedupe, the inbox entries since that id are searched, newest first, for this message's id: the
-- entry itself is the per-recipient mark, so a first attempt costs nothing more, and a resend that
-- finds its entry returns that position instead of appending again (and sends it again: the node
-- drops the repeat).
-- Sending: one bus entry per node present (an envelope as node-bus.ts writes it: 'm' the message JSON,
-- 't' its addressees as JSON), so a publish is one round trip. The node streams' keys are not declared
-- (they are in other slots): on a Redis Cluster the caller passes '' and the publisher sends them itself.
-- '0-0' is START (protocol/positions.ts): the offset before the first message.
local function presence() return redis.call('HGETALL', KEYS[3]) end
local function send(e, off, prev, json, nodes)
  if ARGV[9] == '' then return end
  local to = '[{"user":' .. ARGV[11] .. ',"epoch":"' .. e .. '","offset":"' .. off .. '","prev":"' .. prev .. '"}]'
  for i = 1, #nodes, 2 do
    redis.call('XADD', ARGV[9] .. nodes[i] .. ARGV[10], 'MAXLEN', '~', ARGV[12], '*', 'm', json, 't', to)
  end
end
local head = redis.call('HMGET', KEYS[1], 'e', 'l')
local e = head[1]
if ARGV[6] ~= '' and e then
  local want = ARGV[8]
  local rows = redis.call('XREVRANGE', KEYS[2], '+', ARGV[6], 'COUNT', ARGV[3])
  for i = 1, #rows do
    local f = rows[i][2]
    if string.sub(f[2], 1, #want) == want then
      local nodes = presence()
      send(e, rows[i][1], f[4], f[2], nodes)
      return {e, rows[i][1], f[4], nodes}
    end
  end
end
local prev = head[2] or '0-0'
if not e then
  e = ARGV[2]
  prev = '0-0'
  redis.call('HSET', KEYS[1], 'e', e)
end
local off = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'm', ARGV[1], 'p', prev)
redis.call('XTRIM', KEYS[2], 'MINID', '~', ARGV[5])
redis.call('HSET', KEYS[1], 'l', off)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local nodes = presence()
send(e, off, prev, ARGV[1], nodes)
return {e, off, prev, nodes}
