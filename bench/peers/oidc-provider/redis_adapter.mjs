// oidc-provider's storage in Redis, so that cluster workers share sessions, interactions, codes and tokens.
// It follows the adapter interface of oidc-provider (upsert, find, findByUid, consume, destroy,
// revokeByGrantId) the way its documented Redis example does.

import Redis from 'ioredis';

const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

export function adapterFor(url) {
  const client = new Redis(url, { keyPrefix: 'oidc:', enableAutoPipelining: true });

  return class RedisAdapter {
    constructor(name) {
      this.name = name;
    }

    key(id) {
      return `${this.name}:${id}`;
    }

    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      const multi = client.multi();
      if (consumable.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = `grant:${payload.grantId}`;
        multi.rpush(grantKey, key);
        const ttl = await client.ttl(grantKey);
        if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
      }
      if (payload.userCode) {
        multi.set(`userCode:${payload.userCode}`, id);
        multi.expire(`userCode:${payload.userCode}`, expiresIn);
      }
      if (payload.uid) {
        multi.set(`uid:${payload.uid}`, id);
        multi.expire(`uid:${payload.uid}`, expiresIn);
      }
      await multi.exec();
    }

    async find(id) {
      const key = this.key(id);
      const data = consumable.has(this.name) ? await client.hgetall(key) : await client.get(key);
      if (!data || (typeof data === 'object' && !Object.keys(data).length)) return undefined;
      if (typeof data === 'string') return JSON.parse(data);
      const { payload, ...rest } = data;
      return { ...rest, ...JSON.parse(payload) };
    }

    async findByUid(uid) {
      const id = await client.get(`uid:${uid}`);
      return id ? this.find(id) : undefined;
    }

    async findByUserCode(userCode) {
      const id = await client.get(`userCode:${userCode}`);
      return id ? this.find(id) : undefined;
    }

    async destroy(id) {
      await client.del(this.key(id));
    }

    async revokeByGrantId(grantId) {
      const grantKey = `grant:${grantId}`;
      const tokens = await client.lrange(grantKey, 0, -1);
      const multi = client.multi();
      // The list holds keys without ioredis' keyPrefix, which del() adds back.
      for (const token of tokens) multi.del(token);
      multi.del(grantKey);
      await multi.exec();
    }

    async consume(id) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }
  };
}
