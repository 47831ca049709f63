-- Moves a device's ack forward only (within an epoch).
-- KEYS: acks. ARGV: device, epoch, offset, ttl ms. Returns 1 when written, 0 when the ack was behind.
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then
  local e, ms, seq = string.match(old, '^(%S+) (%d+)-(%d+)$')
  local nms, nseq = string.match(ARGV[3], '^(%d+)-(%d+)$')
  if e == ARGV[2] and (tonumber(ms) > tonumber(nms) or (ms == nms and tonumber(seq) >= tonumber(nseq))) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
