-- Appends a message to a user's inbox and returns its position with the user's presence, in one step.
-- KEYS: meta, inbox, presence.
-- ARGV: message JSON, new epoch, max length, ttl ms, min id, dedupe since (a stream id, or '' for none),
--       meta ttl ms, the message JSON's opening '{"id":"…"'.
-- Returns {epoch, offset, prev, presence as a flat field/value list}.
-- With dedupe, the inbox entries since that id are searched, newest first, for this message's id: the
-- entry itself is the per-recipient mark, so a first attempt costs nothing more, and a resend that
-- finds its entry returns that position instead of appending again.
-- '0-0' is START (protocol/positions.ts): the offset before the first message.
local function presence() return redis.call('HGETALL', KEYS[3]) end
local e = redis.call('HGET', KEYS[1], 'e')
if ARGV[6] ~= '' and e then
  local want = ARGV[8]
  local rows = redis.call('XREVRANGE', KEYS[2], '+', ARGV[6], 'COUNT', ARGV[3])
  for i = 1, #rows do
    local f = rows[i][2]
    if string.sub(f[2], 1, #want) == want then return {e, rows[i][1], f[4], presence()} end
  end
end
local prev = redis.call('HGET', KEYS[1], 'l') or '0-0'
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
return {e, off, prev, presence()}
