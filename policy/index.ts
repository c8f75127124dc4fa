import { PolicyPack } from "@pulumi/policy";
import { answerResourceCallsUnread, crossGuardPolicies, shareDeserializedStack } from "./adapters/crossguard";
import { RULES } from "./rules";

// Constructing the pack starts the analyzer server: this module is the pack's entry point and nothing imports it.
shareDeserializedStack();
const policies = crossGuardPolicies(RULES);
answerResourceCallsUnread(policies);
new PolicyPack("mesh-tenancy", { policies });
