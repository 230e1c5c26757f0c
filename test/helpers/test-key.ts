/** The signing key every test server trusts; its own module so bots can mint tokens without loading the server. */
export const TEST_KID = 'test-key';
export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';
