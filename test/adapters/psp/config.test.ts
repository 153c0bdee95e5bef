import { describe, expect, it } from 'vitest';
import { loadDatatransConfig } from '../../../lib/adapters/psp/config.ts';
import { PspConfigurationError } from '../../../lib/adapters/psp/port.ts';

describe('loadDatatransConfig', () => {
  it('reads the local runtime settings from the environment', async () => {
    const env = { MASS_REFUND_PSP_URL: 'http://127.0.0.1:1234', MASS_REFUND_PSP_MERCHANT_ID: 'm', MASS_REFUND_PSP_PASSWORD: 'p' };

    expect(await loadDatatransConfig({ env })).toEqual({ baseUrl: 'http://127.0.0.1:1234', merchantId: 'm', password: 'p', timeoutMs: 20_000 });
  });

  it('falls back to the given defaults (the sandbox\'s) and refuses a missing URL', async () => {
    const config = await loadDatatransConfig({ env: {}, fallback: { baseUrl: 'http://sbx', merchantId: '1100000000', password: 'sandbox-password' } });

    expect(config.merchantId).toBe('1100000000');
    await expect(loadDatatransConfig({ env: {} })).rejects.toThrow(PspConfigurationError);
  });

  it('on AWS reads {merchantId, password} from Secrets Manager through the reader, every time (the reader caches with a max age)', async () => {
    let reads = 0;
    const readSecret = async (arn: string) => {
      reads += 1;
      expect(arn).toBe('arn:aws:secretsmanager:eu-central-2:1:secret:psp');
      return JSON.stringify({ merchantId: 'live-m', password: 'live-p' });
    };
    const env = { MASS_REFUND_PSP_URL: 'https://api.sandbox.datatrans.com', PSP_SECRET_ARN: 'arn:aws:secretsmanager:eu-central-2:1:secret:psp', MASS_REFUND_PSP_PASSWORD: 'ignored' };

    const first = await loadDatatransConfig({ env, readSecret });
    const second = await loadDatatransConfig({ env, readSecret });

    expect(first).toMatchObject({ merchantId: 'live-m', password: 'live-p' });
    expect(second).toEqual(first);
    expect(reads).toBe(2);
  });

  it('refuses a secret that is not {merchantId, password}, and retries the read next time', async () => {
    const env = { MASS_REFUND_PSP_URL: 'https://x', PSP_SECRET_ARN: 'arn:bad' };

    await expect(loadDatatransConfig({ env, readSecret: async () => '{"user":"x"}' })).rejects.toThrow(PspConfigurationError);
    await expect(loadDatatransConfig({ env, readSecret: async () => '{"merchantId":"m","password":"p"}' })).resolves.toMatchObject({ merchantId: 'm' });
  });
});
