// Every Redis key Herald uses, under one prefix. Hash tags keep each user's keys in one slot (so a
// script can touch them together on a Redis Cluster) and spread users and nodes over all slots.
export function keys(prefix: string) {
  return {
    nodes: `${prefix}:{nodes}`,
    adapterStream: `${prefix}:{sio}`,
    nodeBus: (node: string) => `${prefix}:{n:${node}}:bus`,
    idempotency: (key: string) => `${prefix}:{i:${key}}`,
    user: (user: string) => {
      const tag = `${prefix}:{u:${user}}`;
      return { meta: `${tag}:meta`, inbox: `${tag}:inbox`, presence: `${tag}:presence`, acks: `${tag}:acks`, mark: (id: string) => `${tag}:m:${id}` };
    },
  };
}
