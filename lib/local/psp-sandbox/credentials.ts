/** The sandbox's own credentials (not a secret: they only open the local sandbox). */
export const SANDBOX_MERCHANT_ID = '1100000000';
export const SANDBOX_PASSWORD = 'sandbox-password';
