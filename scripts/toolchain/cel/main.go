// Command vap-eval judges ValidatingAdmissionPolicies as a Kubernetes API server does, without running one.
//
// Every step is the API server's own code at the Kubernetes version of the toolchain: the policies and bindings are
// defaulted and validated as on create (which compiles every CEL expression in the environment allowed for new
// expressions), compiled for evaluation as the ValidatingAdmissionPolicy plugin compiles them, and each admission
// request goes through the plugin's dispatcher (resource rules, binding selectors, match conditions, validation actions,
// the runtime cost budget) and its validator. What the plugin keeps to itself is asked of it separately: which
// validation refused, what a messageExpression failed with, the runtime cost spent.
//
// Input on stdin and output on stdout are JSON; see input and report below. The exit status is 0 whenever the input
// could be read, whatever the verdicts: the caller judges them.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	celgo "github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/library"
	"k8s.io/apiserver/pkg/features"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/apiserver/pkg/warning"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/admissionregistration"
	_ "k8s.io/kubernetes/pkg/apis/admissionregistration/install"
	registryvalidation "k8s.io/kubernetes/pkg/apis/admissionregistration/validation"
)

type input struct {
	Policies []admissionregistrationv1.ValidatingAdmissionPolicy        `json:"policies"`
	Bindings []admissionregistrationv1.ValidatingAdmissionPolicyBinding `json:"bindings"`
	Cases    []caseInput                                                `json:"cases"`
	// How many times each matched policy validates each request; elapsedNs is the median (default 1).
	Repeat int `json:"repeat,omitempty"`
}

type caseInput struct {
	Name    string       `json:"name"`
	Request requestInput `json:"request"`
	// The policies (by name) installed for this case; all of them when empty.
	Policies []string `json:"policies,omitempty"`
}

// requestInput is an AdmissionRequest as the API server builds it, with the namespace the request is in.
type requestInput struct {
	Operation   string                      `json:"operation"`
	Object      map[string]any              `json:"object,omitempty"`
	OldObject   map[string]any              `json:"oldObject,omitempty"`
	Kind        metav1.GroupVersionKind     `json:"kind"`
	Resource    metav1.GroupVersionResource `json:"resource"`
	SubResource string                      `json:"subResource,omitempty"`
	Namespace   string                      `json:"namespace,omitempty"`
	Name        string                      `json:"name"`
	DryRun      bool                        `json:"dryRun,omitempty"`
	UserInfo    struct {
		Username string              `json:"username"`
		UID      string              `json:"uid,omitempty"`
		Groups   []string            `json:"groups,omitempty"`
		Extra    map[string][]string `json:"extra,omitempty"`
	} `json:"userInfo"`
	// The Namespace the request's namespace is: what the binding selectors and `namespaceObject` see.
	NamespaceObject *corev1.Namespace `json:"namespaceObject,omitempty"`
}

type report struct {
	Environment environmentReport `json:"environment"`
	Policies    []policyReport    `json:"policies"`
	Bindings    []bindingReport   `json:"bindings"`
	Cases       []caseReport      `json:"cases"`
}

type environmentReport struct {
	// The CEL libraries a new expression may use (create-time validation); stored ones may use the binary's.
	CompatibilityVersion string `json:"compatibilityVersion"`
	StrictCost           bool   `json:"strictCost"`
	PerCallLimit         int64  `json:"perCallLimit"`
	RuntimeBudget        int64  `json:"runtimeBudget"`
	// The bound the worst-case estimates assume for every list, map and string: the largest request the API server takes.
	SizeBound int64 `json:"sizeBound"`
}

type policyReport struct {
	Name string `json:"name"`
	// What the API server's create-time validation says of the policy, compile errors included; empty when it is accepted.
	ValidationErrors []string           `json:"validationErrors"`
	Expressions      []expressionReport `json:"expressions"`
}

type expressionReport struct {
	Field      string `json:"field"`
	Expression string `json:"expression"`
	// A compile, type or environment error of the expression as compiled for evaluation (stored expressions).
	Error string `json:"error,omitempty"`
	// The Kubernetes cost estimator's range for the expression alone, every size bounded by SizeBound.
	EstimatedCost *costRange `json:"estimatedCost,omitempty"`
}

type costRange struct {
	Min uint64 `json:"min"`
	Max uint64 `json:"max"`
}

type bindingReport struct {
	Name             string   `json:"name"`
	ValidationErrors []string `json:"validationErrors"`
}

type caseReport struct {
	Name    string `json:"name"`
	Allowed bool   `json:"allowed"`
	// The API server's refusal, as the client reads it; empty when allowed.
	Message string `json:"message,omitempty"`
	// Warn actions: the warnings the client is shown.
	Warnings []string `json:"warnings"`
	// Audit actions and audit annotations.
	AuditAnnotations map[string]string `json:"auditAnnotations"`
	Policies         []policyVerdict   `json:"policies"`
	// Set when the request could not be built (the case is wrong, not the policies).
	Error string `json:"error,omitempty"`
}

type policyVerdict struct {
	Policy  string `json:"policy"`
	Binding string `json:"binding"`
	// The policy's resource rules and the binding's selectors both match the request.
	Matched bool `json:"matched"`
	// The match conditions admit the request for validation (false: skipped, such as for the platform operators).
	MatchConditions     bool   `json:"matchConditions"`
	MatchConditionError string `json:"matchConditionError,omitempty"`
	// One per validation, in order, when matched.
	Validations []validationVerdict `json:"validations"`
	// Runtime cost of the validations (variables included), as charged against the binding's budget.
	Cost int64 `json:"cost"`
	// The validator's wall time on the request (match conditions, variables, validations, messages).
	ElapsedNs int64 `json:"elapsedNs"`
}

type validationVerdict struct {
	Index int `json:"index"`
	// admit, deny, or error (an evaluation error, which failurePolicy turns into a refusal or not).
	Evaluation string `json:"evaluation"`
	Action     string `json:"action"`
	Message    string `json:"message,omitempty"`
	// The messageExpression's own failure: the API server then falls back to another message and only logs it.
	MessageError string `json:"messageError,omitempty"`
	ElapsedNs    int64  `json:"elapsedNs"`
}

// compiledPolicy is the plugin's compiled form of a policy plus the parts the plugin does not expose.
type compiledPolicy struct {
	policy      *admissionregistrationv1.ValidatingAdmissionPolicy
	bindings    []*admissionregistrationv1.ValidatingAdmissionPolicyBinding
	validator   validating.Validator
	matcher     matchconditions.Matcher
	validations cel.ConditionEvaluator
	messages    cel.ConditionEvaluator
}

func main() {
	var in input
	decoder := json.NewDecoder(os.Stdin)
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&in); err != nil {
		fmt.Fprintf(os.Stderr, "vap-eval: reading input: %v\n", err)
		os.Exit(2)
	}
	strictCost := utilfeature.DefaultFeatureGate.Enabled(features.StrictCostEnforcementForVAP)
	out := report{
		Environment: environmentReport{
			CompatibilityVersion: environment.DefaultCompatibilityVersion().String(),
			StrictCost:           strictCost,
			PerCallLimit:         celconfig.PerCallLimit,
			RuntimeBudget:        celconfig.RuntimeCELCostBudget,
			SizeBound:            celconfig.MaxRequestSizeBytes,
		},
		Policies: []policyReport{},
		Bindings: []bindingReport{},
		Cases:    []caseReport{},
	}

	compiled := make([]*compiledPolicy, 0, len(in.Policies))
	byName := map[string]*compiledPolicy{}
	// Policies that differ only in their names (the same guardrails planned for several stacks) are compiled once.
	specs := map[string]*compiledSpec{}
	for i := range in.Policies {
		policy := &in.Policies[i]
		legacyscheme.Scheme.Default(policy)
		pr := policyReport{Name: policy.Name, ValidationErrors: validatePolicy(policy)}
		key, err := json.Marshal(policy.Spec)
		if err != nil {
			panic(err)
		}
		spec, ok := specs[string(key)]
		if !ok {
			spec = compileSpec(policy, strictCost)
			specs[string(key)] = spec
		}
		c := spec.forPolicy(policy)
		pr.Expressions = spec.expressions
		out.Policies = append(out.Policies, pr)
		compiled = append(compiled, c)
		byName[policy.Name] = c
	}
	for i := range in.Bindings {
		binding := &in.Bindings[i]
		legacyscheme.Scheme.Default(binding)
		br := bindingReport{Name: binding.Name, ValidationErrors: validateBinding(binding)}
		if c, ok := byName[binding.Spec.PolicyName]; ok {
			c.bindings = append(c.bindings, binding)
		} else {
			br.ValidationErrors = append(br.ValidationErrors, fmt.Sprintf("spec.policyName: no policy %q in the input", binding.Spec.PolicyName))
		}
		out.Bindings = append(out.Bindings, br)
	}

	repeat := max(in.Repeat, 1)
	for _, c := range in.Cases {
		installed := compiled
		if len(c.Policies) > 0 {
			installed = nil
			for _, name := range c.Policies {
				if p, ok := byName[name]; ok {
					installed = append(installed, p)
				} else {
					fmt.Fprintf(os.Stderr, "vap-eval: case %q: no policy %q in the input\n", c.Name, name)
					os.Exit(2)
				}
			}
		}
		out.Cases = append(out.Cases, judge(c, installed, repeat))
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "vap-eval: writing output: %v\n", err)
		os.Exit(2)
	}
}

// validatePolicy runs the API server's create-time validation on the policy's internal form.
func validatePolicy(policy *admissionregistrationv1.ValidatingAdmissionPolicy) []string {
	var internal admissionregistration.ValidatingAdmissionPolicy
	if err := legacyscheme.Scheme.Convert(policy, &internal, nil); err != nil {
		return []string{fmt.Sprintf("converting to the internal version: %v", err)}
	}
	return errorStrings(registryvalidation.ValidateValidatingAdmissionPolicy(&internal).ToAggregate())
}

func validateBinding(binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding) []string {
	var internal admissionregistration.ValidatingAdmissionPolicyBinding
	if err := legacyscheme.Scheme.Convert(binding, &internal, nil); err != nil {
		return []string{fmt.Sprintf("converting to the internal version: %v", err)}
	}
	return errorStrings(registryvalidation.ValidateValidatingAdmissionPolicyBinding(&internal).ToAggregate())
}

func errorStrings(agg interface{ Errors() []error }) []string {
	out := []string{}
	if agg == nil {
		return out
	}
	for _, err := range agg.Errors() {
		out = append(out, err.Error())
	}
	return out
}

// compiledSpec is a policy's spec compiled: everything but the match conditions' matcher, which names the policy.
type compiledSpec struct {
	compiler       *cel.CompositedCompiler
	withAuthorizer cel.OptionalVariableDeclarations
	validations    cel.ConditionEvaluator
	messages       cel.ConditionEvaluator
	audits         cel.ConditionEvaluator
	expressions    []expressionReport
}

// forPolicy completes the compiled spec for one policy of that spec, as the plugin's compiler would have.
func (s *compiledSpec) forPolicy(policy *admissionregistrationv1.ValidatingAdmissionPolicy) *compiledPolicy {
	var matcher matchconditions.Matcher
	if len(policy.Spec.MatchConditions) > 0 {
		accessors := make([]cel.ExpressionAccessor, len(policy.Spec.MatchConditions))
		for i := range policy.Spec.MatchConditions {
			accessors[i] = (*matchconditions.MatchCondition)(&policy.Spec.MatchConditions[i])
		}
		matcher = matchconditions.NewMatcher(s.compiler.CompileCondition(accessors, s.withAuthorizer, environment.StoredExpressions), policy.Spec.FailurePolicy, "policy", "validate", policy.Name)
	}
	return &compiledPolicy{
		policy:      policy,
		validator:   validating.NewValidator(s.validations, matcher, s.audits, s.messages, policy.Spec.FailurePolicy),
		matcher:     matcher,
		validations: s.validations,
		messages:    s.messages,
	}
}

// compileSpec compiles the policy the way the ValidatingAdmissionPolicy plugin does (one composition per policy,
// variables first, stored-expression environment), and reports each expression's own compile result and cost estimate.
func compileSpec(policy *admissionregistrationv1.ValidatingAdmissionPolicy, strictCost bool) *compiledSpec {
	hasParams := policy.Spec.ParamKind != nil
	template, err := cel.NewCompositionEnv(cel.VariablesTypeName, environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion(), strictCost))
	if err != nil {
		panic(err)
	}
	compiler := cel.NewCompositedCompilerFromTemplate(template)
	withAuthorizer := cel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true, StrictCost: strictCost}
	// messageExpressions are compiled without `authorizer`, as the plugin compiles them.
	withoutAuthorizer := cel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: false, StrictCost: strictCost}

	estimator := newEstimator(compiler.CompositionEnv, hasParams)
	var expressions []expressionReport
	record := func(field string, accessor cel.ExpressionAccessor, result cel.CompilationResult, withAuthz bool) {
		r := expressionReport{Field: field, Expression: accessor.GetExpression()}
		if result.Error != nil {
			r.Error = result.Error.Error()
		} else {
			r.EstimatedCost = estimator.estimate(accessor.GetExpression(), withAuthz)
		}
		expressions = append(expressions, r)
	}

	for i, v := range policy.Spec.Variables {
		accessor := &validating.Variable{Name: v.Name, Expression: v.Expression}
		record(fmt.Sprintf("spec.variables[%d] (%s)", i, v.Name), accessor, compiler.CompileAndStoreVariable(accessor, withAuthorizer, environment.StoredExpressions), true)
	}
	estimator.refresh()

	for i := range policy.Spec.MatchConditions {
		accessor := (*matchconditions.MatchCondition)(&policy.Spec.MatchConditions[i])
		record(fmt.Sprintf("spec.matchConditions[%d] (%s)", i, policy.Spec.MatchConditions[i].Name), accessor, compiler.CompileCELExpression(accessor, withAuthorizer, environment.StoredExpressions), true)
	}

	validations := make([]cel.ExpressionAccessor, len(policy.Spec.Validations))
	messages := make([]cel.ExpressionAccessor, len(policy.Spec.Validations))
	for i, v := range policy.Spec.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		record(fmt.Sprintf("spec.validations[%d].expression", i), validations[i], compiler.CompileCELExpression(validations[i], withAuthorizer, environment.StoredExpressions), true)
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
			record(fmt.Sprintf("spec.validations[%d].messageExpression", i), messages[i], compiler.CompileCELExpression(messages[i], withoutAuthorizer, environment.StoredExpressions), false)
		}
	}
	audits := make([]cel.ExpressionAccessor, len(policy.Spec.AuditAnnotations))
	for i, a := range policy.Spec.AuditAnnotations {
		audits[i] = &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}
		record(fmt.Sprintf("spec.auditAnnotations[%d] (%s)", i, a.Key), audits[i], compiler.CompileCELExpression(audits[i], withAuthorizer, environment.StoredExpressions), true)
	}

	return &compiledSpec{
		compiler:       compiler,
		withAuthorizer: withAuthorizer,
		validations:    compiler.CompileCondition(validations, withAuthorizer, environment.StoredExpressions),
		messages:       compiler.CompileCondition(messages, withoutAuthorizer, environment.StoredExpressions),
		audits:         compiler.CompileCondition(audits, withAuthorizer, environment.StoredExpressions),
		expressions:    expressions,
	}
}

// estimator compiles an expression once more in the same environment the plugin's compiler uses, only to hand its
// checked AST to the Kubernetes cost estimator (the plugin keeps the AST to itself).
type estimator struct {
	composition *cel.CompositionEnv
	hasParams   bool
	envs        map[bool]*celgo.Env
}

func newEstimator(composition *cel.CompositionEnv, hasParams bool) *estimator {
	e := &estimator{composition: composition, hasParams: hasParams}
	e.refresh()
	return e
}

// refresh rebuilds the environments, so that they see the types of the variables compiled since.
func (e *estimator) refresh() {
	e.envs = map[bool]*celgo.Env{}
	namespaceType, requestType := cel.BuildNamespaceType(), cel.BuildRequestType()
	for _, withAuthz := range []bool{false, true} {
		opts := []celgo.EnvOption{
			celgo.Variable(cel.ObjectVarName, celgo.DynType),
			celgo.Variable(cel.OldObjectVarName, celgo.DynType),
			celgo.Variable(cel.NamespaceVarName, namespaceType.CelType()),
			celgo.Variable(cel.RequestVarName, requestType.CelType()),
		}
		if e.hasParams {
			opts = append(opts, celgo.Variable(cel.ParamsVarName, celgo.DynType))
		}
		if withAuthz {
			opts = append(opts, celgo.Variable(cel.AuthorizerVarName, library.AuthorizerType), celgo.Variable(cel.RequestResourceAuthorizerVarName, library.ResourceCheckType))
		}
		set, err := e.composition.EnvSet.Extend(environment.VersionedOptions{
			IntroducedVersion: version.MajorMinor(1, 0),
			EnvOptions:        opts,
			DeclTypes:         []*apiservercel.DeclType{namespaceType, requestType},
		})
		if err != nil {
			panic(err)
		}
		env, err := set.Env(environment.StoredExpressions)
		if err != nil {
			panic(err)
		}
		e.envs[withAuthz] = env
	}
}

func (e *estimator) estimate(expression string, withAuthz bool) *costRange {
	env := e.envs[withAuthz]
	ast, issues := env.Compile(expression)
	if issues != nil && issues.Err() != nil {
		return nil
	}
	cost, err := env.EstimateCost(ast, &library.CostEstimator{SizeEstimator: requestBound{}})
	if err != nil {
		return nil
	}
	return &costRange{Min: cost.Min, Max: cost.Max}
}

// requestBound sizes what the type system leaves open (every field of `object`) by the largest request the API server
// accepts: nothing in a request is longer than the request.
type requestBound struct{}

func (requestBound) EstimateSize(checker.AstNode) *checker.SizeEstimate {
	return &checker.SizeEstimate{Min: 0, Max: uint64(celconfig.MaxRequestSizeBytes)}
}

func (requestBound) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// noAuthorizer answers every `authorizer` check with no opinion: the guardrails do not ask it.
type noAuthorizer struct{}

func (noAuthorizer) Authorize(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionNoOpinion, "vap-eval has no authorizer", nil
}

type warnings []string

func (w *warnings) AddWarning(_, text string) { *w = append(*w, text) }

func judge(c caseInput, compiled []*compiledPolicy, repeat int) caseReport {
	out := caseReport{Name: c.Name, Warnings: []string{}, AuditAnnotations: map[string]string{}, Policies: []policyVerdict{}}
	attrs, namespaces, err := attributes(c.Request)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	objects := admission.NewObjectInterfacesFromScheme(runtime.NewScheme())
	policyMatcher := generic.NewPolicyMatcher(matching.NewMatcher(namespaces, nil))
	var recorded warnings
	ctx := warning.WithWarningRecorder(context.Background(), &recorded)

	hooks := make([]validating.PolicyHook, len(compiled))
	for i, p := range compiled {
		hooks[i] = validating.PolicyHook{Policy: p.policy, Bindings: p.bindings, Evaluator: p.validator}
	}
	dispatchErr := validating.NewDispatcher(noAuthorizer{}, policyMatcher).Dispatch(ctx, attrs, objects, hooks)
	out.Allowed = dispatchErr == nil
	if dispatchErr != nil {
		out.Message = dispatchErr.Error()
	}
	out.Warnings = append(out.Warnings, recorded...)
	for k, v := range attrs.annotations {
		out.AuditAnnotations[k] = v
	}
	for _, p := range compiled {
		out.Policies = append(out.Policies, inspect(ctx, p, attrs, objects, policyMatcher, repeat)...)
	}
	return out
}

// inspect evaluates one policy on the request through the plugin's matcher and validator, for each binding that
// matches, reporting what the dispatcher folds into a single refusal.
func inspect(ctx context.Context, p *compiledPolicy, attrs admission.Attributes, objects admission.ObjectInterfaces, policyMatcher generic.PolicyMatcher, repeat int) []policyVerdict {
	var out []policyVerdict
	matches, resource, kind, err := policyMatcher.DefinitionMatches(attrs, objects, validating.NewValidatingAdmissionPolicyAccessor(p.policy))
	if err != nil || !matches {
		return nil
	}
	for _, binding := range p.bindings {
		v := policyVerdict{Policy: p.policy.Name, Binding: binding.Name, Validations: []validationVerdict{}}
		if ok, err := policyMatcher.BindingMatches(attrs, objects, validating.NewValidatingAdmissionPolicyBindingAccessor(binding)); err != nil || !ok {
			continue
		}
		v.Matched = true
		versioned, err := admission.NewVersionedAttributes(attrs, kind, objects)
		if err != nil {
			v.MatchConditionError = err.Error()
			out = append(out, v)
			continue
		}
		var namespace *corev1.Namespace
		if attrs.GetNamespace() != "" && !(kind.Group == "" && kind.Kind == "Namespace") {
			namespace, _ = policyMatcher.GetNamespace(ctx, attrs.GetNamespace())
		}
		v.MatchConditions = true
		if p.matcher != nil {
			m := p.matcher.Match(ctx, versioned, nil, noAuthorizer{})
			v.MatchConditions = m.Matches
			if m.Error != nil {
				v.MatchConditionError = m.Error.Error()
			}
		}
		if !v.MatchConditions {
			out = append(out, v)
			continue
		}
		var result validating.ValidateResult
		elapsed := make([]time.Duration, repeat)
		for i := range elapsed {
			start := time.Now()
			result = p.validator.Validate(ctx, resource, versioned, nil, namespace, celconfig.RuntimeCELCostBudget, noAuthorizer{})
			elapsed[i] = time.Since(start)
		}
		slices.Sort(elapsed)
		v.ElapsedNs = elapsed[len(elapsed)/2].Nanoseconds()

		request := cel.CreateAdmissionRequest(attrs, metav1.GroupVersionResource(resource), metav1.GroupVersionKind(kind))
		nsObject := cel.CreateNamespaceObject(namespace)
		_, remaining, err := p.validations.ForInput(ctx, versioned, request, cel.OptionalVariableBindings{Authorizer: noAuthorizer{}}, nsObject, celconfig.RuntimeCELCostBudget)
		if err == nil {
			v.Cost = celconfig.RuntimeCELCostBudget - remaining
		} else {
			v.Cost = math.MaxInt64
		}
		messageResults, _, _ := p.messages.ForInput(ctx, versioned, request, cel.OptionalVariableBindings{}, nsObject, celconfig.RuntimeCELCostBudget)
		for i, d := range result.Decisions {
			vv := validationVerdict{Index: i, Evaluation: string(d.Evaluation), Action: string(d.Action), Message: d.Message, ElapsedNs: d.Elapsed.Nanoseconds()}
			if d.Action == validating.ActionDeny && i < len(messageResults) && messageResults[i].Error != nil {
				vv.MessageError = messageResults[i].Error.Error()
			}
			v.Validations = append(v.Validations, vv)
		}
		out = append(out, v)
	}
	return out
}

// annotatedAttributes keeps the audit annotations the plugin adds to a request, which an audit backend would log.
type annotatedAttributes struct {
	admission.Attributes
	annotations map[string]string
}

func (a *annotatedAttributes) AddAnnotation(key, value string) error {
	a.annotations[key] = value
	return nil
}

func (a *annotatedAttributes) AddAnnotationWithLevel(key, value string, _ auditinternal.Level) error {
	return a.AddAnnotation(key, value)
}

// attributes builds the admission attributes of a request and a namespace lister that holds its namespace.
func attributes(r requestInput) (*annotatedAttributes, corelisters.NamespaceLister, error) {
	kind := schema.GroupVersionKind(r.Kind)
	object := func(m map[string]any) runtime.Object {
		if m == nil {
			return nil
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GroupVersionKind().Empty() {
			u.SetGroupVersionKind(kind)
		}
		return u
	}
	operation := admission.Operation(r.Operation)
	var options runtime.Object
	switch operation {
	case admission.Create:
		options = &metav1.CreateOptions{}
	case admission.Update:
		options = &metav1.UpdateOptions{}
	case admission.Delete:
		options = &metav1.DeleteOptions{}
	case admission.Connect:
	default:
		return nil, nil, fmt.Errorf("request.operation: %q is not CREATE, UPDATE, DELETE or CONNECT", r.Operation)
	}
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	if r.NamespaceObject != nil {
		if err := indexer.Add(r.NamespaceObject); err != nil {
			return nil, nil, err
		}
	} else if r.Namespace != "" && !(kind.Group == "" && kind.Kind == "Namespace") {
		// The API server refuses requests into a namespace that does not exist before any policy is asked.
		return nil, nil, fmt.Errorf("request.namespaceObject: the request is in namespace %q; give the Namespace", r.Namespace)
	}
	userInfo := &user.DefaultInfo{Name: r.UserInfo.Username, UID: r.UserInfo.UID, Groups: r.UserInfo.Groups, Extra: r.UserInfo.Extra}
	attrs := admission.NewAttributesRecord(object(r.Object), object(r.OldObject), kind, r.Namespace, r.Name,
		schema.GroupVersionResource(r.Resource), r.SubResource, operation, options, r.DryRun, userInfo)
	return &annotatedAttributes{Attributes: attrs, annotations: map[string]string{}}, corelisters.NewNamespaceLister(indexer), nil
}
