// The caller's side of step 2: real keys from crypto, a genesis with their PEMs, and apply_block verifying through
// the SignatureCheck callback as the node and the verifier do (docs/model.md §1).
#include <catch2/catch.hpp>

#include "crypto/keys.h"
#include "fixture.h"

using namespace onebill;
using namespace onebill::contracts;
using namespace onebill::contracts::testing;

TEST_CASE("contracts: real signatures are checked by the caller through apply_block", "[contracts][signature]") {
  auto mto = crypto::PrivateKey::generate(crypto::SigAlg::ed25519);
  auto shipper = crypto::PrivateKey::generate(crypto::SigAlg::ecdsa_p256);
  auto sm2 = crypto::PrivateKey::generate(crypto::SigAlg::sm2);
  REQUIRE(mto.ok());
  REQUIRE(shipper.ok());
  REQUIRE(sm2.ok());
  json g = test_genesis();
  g["hash"] = "sm3";
  g["orgs"][0]["keys"][0]["pub"] = mto->public_key().to_pem();                            // crct, ed25519
  g["orgs"][11]["keys"][0] = {{"id", "shipper/k1"}, {"alg", "ecdsa-p256"}, {"pub", shipper->public_key().to_pem()}};
  g["orgs"][12]["keys"][0] = {{"id", "trader/k1"}, {"alg", "sm2"}, {"pub", sm2->public_key().to_pem()}};
  Ledger l(g);

  const auto sign = [](const crypto::PrivateKey& key, Envelope e) {
    auto sig = key.sign(e.canonical_tx);
    REQUIRE(sig.ok());
    e.sig = *sig;
    return e;
  };
  const SignatureCheck check = [](const Envelope& e, const Key& k) {
    auto alg = crypto::parse_sig_alg(k.alg);
    auto pub = alg ? crypto::PublicKey::from_pem(k.pub, *alg) : Result<crypto::PublicKey>(alg.error());
    return pub && pub->verify(e.canonical_tx, e.sig);
  };

  const std::vector<Envelope> block = {
      sign(*mto, l.make("crct", "bill.issue", "OB-1", bill_body())),
      sign(*shipper, l.make("shipper", "bill.endorse", "OB-1", {{"to", "trader"}})),
      sign(*shipper, l.make("trader", "bill.endorse", "OB-1", {{"to", "buyer"}})),  // signed with the wrong key
      sign(*sm2, l.make("trader", "bill.endorse", "OB-1", {{"to", "buyer"}})),
  };
  auto result = apply_block(block, 1, kStartMs, l.state, l.members, check);
  REQUIRE(result.ok());
  CHECK(result->outcomes[0].accepted);
  CHECK(result->outcomes[1].accepted);
  CHECK(result->outcomes[2].reason == "bad_signature");
  CHECK(result->outcomes[3].accepted);
  // The envelope survives its wire form with the signature intact.
  auto again = parse_envelope(envelope_to_json(block[3]).dump(), crypto::HashAlg::sm3);
  REQUIRE(again.ok());
  CHECK(again->id == block[3].id);
  CHECK(check(*again, *l.members.key("trader/k1")));
}
