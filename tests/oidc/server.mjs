// A real OpenID Connect provider for lenadash's tests and CI (panva's oidc-provider, OpenID Certified),
// on 127.0.0.1 only. Its built-in development login form takes a user name below (any password) and
// asks for consent; it keeps everything in memory. Never use it for a clinic.
//
//   OIDC_PORT=9090 OIDC_REDIRECT_URIS=http://127.0.0.1:8501/oauth2callback node server.mjs
//
// Prints "oidc-provider listening on ISSUER" when it answers.
import Provider from "oidc-provider";

const port = Number(process.env.OIDC_PORT || 9090);
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = (process.env.OIDC_REDIRECT_URIS || "http://127.0.0.1:8501/oauth2callback").split(",");

// The test users: one per lenadash role (the roles themselves live in lenadash's database).
const USERS = {
  nurse: { email: "nurse@clinic.test", name: "Test Nurse" },
  clinician: { email: "clinician@clinic.test", name: "Test Clinician" },
  admin: { email: "admin@clinic.test", name: "Test Admin" },
  pharmacist: { email: "pharmacist@clinic.test", name: "Test Pharmacist" },
  viewer: { email: "viewer@clinic.test", name: "Test Viewer" },
};

const configuration = {
  clients: [
    {
      client_id: "lenadash",
      client_secret: process.env.OIDC_CLIENT_SECRET || "lenadash-test-secret",
      redirect_uris: redirectUris,
      // Streamlit sends its redirect_uri (/oauth2callback) as the post-logout address.
      post_logout_redirect_uris: [...redirectUris, ...redirectUris.map((uri) => new URL(uri).origin + "/")],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  async findAccount(ctx, id) {
    const user = USERS[id];
    if (!user) return undefined; // an unknown name cannot sign in
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: user.email, email_verified: true, name: user.name };
      },
    };
  },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
  // Streamlit reads the user from the ID token: put the scopes' claims in it.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => false },
  cookies: { keys: ["lenadash-test-oidc-cookie-key"] },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, IdToken: 600 },
};

const provider = new Provider(issuer, configuration);
provider.on("server_error", (ctx, error) => console.error("server_error", error));
provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
