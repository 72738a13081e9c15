// Offline check of a declarative Jenkinsfile, for machines without a Jenkins
// controller (whose `declarative-linter` is the real authority). Two passes:
//   1. Groovy syntax: the file is compiled up to the CONVERSION phase, which is
//      everything the parser checks, without resolving Jenkins' step classes.
//   2. Declarative structure, on the syntax tree: one top-level `pipeline`
//      block with `agent` and `stages`, only directives that Declarative knows,
//      every stage named (uniquely) and holding exactly one of
//      steps/stages/parallel/matrix, known `when` conditions and `post`
//      conditions.
// Usage: groovy JenkinsfileCheck.groovy PATH/Jenkinsfile
// Prints one `file:line:column: problem` per finding; exit 1 if any.

import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.expr.ArgumentListExpression
import org.codehaus.groovy.ast.expr.ClosureExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.Expression
import org.codehaus.groovy.ast.expr.GStringExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.ast.expr.VariableExpression
import org.codehaus.groovy.ast.stmt.BlockStatement
import org.codehaus.groovy.ast.stmt.ExpressionStatement
import org.codehaus.groovy.ast.stmt.Statement
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.messages.SyntaxErrorMessage

// What Declarative Pipeline accepts at each level (Jenkins' pipeline-model-definition).
final Set<String> PIPELINE_DIRECTIVES = ['agent', 'environment', 'options', 'parameters', 'triggers', 'tools', 'stages', 'post', 'libraries'] as Set
final Set<String> STAGE_DIRECTIVES = ['agent', 'environment', 'options', 'when', 'input', 'tools', 'post', 'failFast',
                                      'steps', 'stages', 'parallel', 'matrix'] as Set
final Set<String> STAGE_BODIES = ['steps', 'stages', 'parallel', 'matrix'] as Set
final Set<String> POST_CONDITIONS = ['always', 'changed', 'fixed', 'regression', 'aborted', 'failure', 'success',
                                     'unstable', 'unsuccessful', 'notBuilt', 'cleanup'] as Set
final Set<String> WHEN_CONDITIONS = ['branch', 'buildingTag', 'changelog', 'changeset', 'changeRequest', 'environment',
                                     'equals', 'expression', 'tag', 'not', 'allOf', 'anyOf', 'triggeredBy',
                                     'beforeAgent', 'beforeInput', 'beforeOptions'] as Set
final Set<String> REQUIRED_PIPELINE_DIRECTIVES = ['agent', 'stages'] as Set

if (args.length != 1) {
    System.err.println('usage: JenkinsfileCheck.groovy PATH/Jenkinsfile')
    System.exit(2)
}
File jenkinsfile = new File(args[0])
if (!jenkinsfile.isFile()) {
    System.err.println("${args[0]}: no such file")
    System.exit(2)
}

List<String> problems = []
def report = { ASTNode node, String message ->
    String where = node != null && node.lineNumber > 0 ? "${node.lineNumber}:${node.columnNumber}" : '1:1'
    problems << "${jenkinsfile.path}:${where}: ${message}".toString()
}

// --- 1. Syntax ---------------------------------------------------------------
CompilationUnit unit = new CompilationUnit(new CompilerConfiguration())
unit.addSource(jenkinsfile)
try {
    unit.compile(Phases.CONVERSION)
} catch (MultipleCompilationErrorsException e) {
    e.errorCollector.errors.each { message ->
        if (message instanceof SyntaxErrorMessage) {
            def cause = message.cause
            // The parser blames the start of a block it could not close.
            String hint = cause.originalMessage.contains("Unexpected input: '{'") ? ' (is a `}` missing in the block that opens here?)' : ''
            problems << "${jenkinsfile.path}:${cause.line}:${cause.startColumn}: Groovy syntax error: ${cause.originalMessage}${hint}".toString()
        } else {
            problems << "${jenkinsfile.path}: ${message}".toString()
        }
    }
    problems.each { System.err.println(it) }
    System.err.println("FAIL: ${jenkinsfile.path} is not valid Groovy (${problems.size()} error(s))")
    System.exit(1)
}
println "ok: ${jenkinsfile.path} parses as Groovy"

// --- 2. Declarative structure -------------------------------------------------

// A directive is a call `name(args...) { closure }` or `name args`, written as a
// statement of its enclosing block.
MethodCallExpression asCall(Statement statement) {
    if (statement instanceof ExpressionStatement && statement.expression instanceof MethodCallExpression) {
        MethodCallExpression call = (MethodCallExpression) statement.expression
        if (call.implicitThis) return call
    }
    return null
}

List<Expression> argumentsOf(MethodCallExpression call) {
    call.arguments instanceof ArgumentListExpression ? ((ArgumentListExpression) call.arguments).expressions : []
}

ClosureExpression closureOf(MethodCallExpression call) {
    List<Expression> arguments = argumentsOf(call)
    (!arguments.isEmpty() && arguments.last() instanceof ClosureExpression) ? (ClosureExpression) arguments.last() : null
}

List<Statement> statementsOf(ClosureExpression closure) {
    closure.code instanceof BlockStatement ? ((BlockStatement) closure.code).statements : [closure.code]
}

// The directives of a block, each checked against what that block allows;
// `unique`: each may appear once (true of every block but stage lists and
// the conditions inside `when`).
List<MethodCallExpression> directives(ClosureExpression block, String where, Set<String> allowed, Closure report,
                                      boolean unique = true) {
    List<MethodCallExpression> calls = []
    Set<String> seen = [] as Set
    statementsOf(block).each { Statement statement ->
        MethodCallExpression call = asCall(statement)
        if (call == null) {
            report(statement, "${where}: only directives may appear here, found `${statement.text.take(60)}`")
            return
        }
        if (!allowed.contains(call.methodAsString)) {
            report(call, "${where}: unknown directive `${call.methodAsString}` (allowed: ${allowed.sort().join(', ')})")
            return
        }
        if (unique && !seen.add(call.methodAsString)) {
            report(call, "${where}: `${call.methodAsString}` appears more than once")
        }
        calls << call
    }
    calls
}

void checkPost(MethodCallExpression post, String where, Set<String> conditions, Closure report) {
    ClosureExpression body = closureOf(post)
    if (body == null) { report(post, "${where}: `post` needs a block"); return }
    List<MethodCallExpression> calls = directives(body, "${where} post", conditions, report)
    if (statementsOf(body).every { it.isEmpty() }) report(post, "${where}: `post` has no condition block")
    calls.each { if (closureOf(it) == null) report(it, "${where} post: `${it.methodAsString}` needs a block") }
}

void checkWhen(MethodCallExpression when, String where, Set<String> conditions, Closure report) {
    ClosureExpression body = closureOf(when)
    if (body == null) { report(when, "${where}: `when` needs a block"); return }
    List<MethodCallExpression> calls = directives(body, "${where} when", conditions, report, false)
    calls.findAll { it.methodAsString in ['allOf', 'anyOf', 'not'] }.each { nested ->
        if (closureOf(nested) == null) {
            report(nested, "${where} when: `${nested.methodAsString}` needs a block")
        } else {
            // Reused for the nested block: the same conditions are allowed there.
            checkWhen(nested, where, conditions, report)
        }
    }
}

String stageName(MethodCallExpression stage) {
    List<Expression> arguments = argumentsOf(stage)
    if (arguments.size() != 2) return null
    Expression name = arguments[0]
    if (name instanceof ConstantExpression && name.value instanceof String) return (String) name.value
    if (name instanceof GStringExpression) return name.text
    return null
}

List<Statement> topLevel = unit.AST.modules[0].statementBlock.statements
List<MethodCallExpression> pipelines = topLevel.collect { asCall(it) }.findAll { it?.methodAsString == 'pipeline' }
if (pipelines.size() != 1) {
    report(null, "expected exactly one top-level `pipeline { ... }` block, found ${pipelines.size()}")
} else {
    MethodCallExpression pipeline = pipelines[0]
    ClosureExpression pipelineBody = closureOf(pipeline)
    if (pipelineBody == null) {
        report(pipeline, '`pipeline` needs a block')
    } else {
        List<MethodCallExpression> calls = directives(pipelineBody, 'pipeline', PIPELINE_DIRECTIVES, report)
        Map<String, MethodCallExpression> byName = calls.collectEntries { [(it.methodAsString): it] }
        (REQUIRED_PIPELINE_DIRECTIVES - byName.keySet()).sort().each { report(pipeline, "pipeline: missing `${it}`") }
        if (byName.post) checkPost(byName.post, 'pipeline', POST_CONDITIONS, report)

        Set<String> stageNames = [] as Set
        int stageCount = 0
        // Checks a `stages { stage('x') { ... } ... }` or `parallel { ... }` block.
        Closure checkStages
        checkStages = { MethodCallExpression container, String where ->
            ClosureExpression body = closureOf(container)
            if (body == null) { report(container, "${where}: `${container.methodAsString}` needs a block"); return }
            List<MethodCallExpression> stages = directives(body, "${where} ${container.methodAsString}", ['stage'] as Set, report, false)
            if (stages.isEmpty()) report(container, "${where}: `${container.methodAsString}` has no stage")
            stages.each { MethodCallExpression stage ->
                stageCount++
                String name = stageName(stage)
                ClosureExpression stageBody = closureOf(stage)
                if (name == null || name.trim().isEmpty() || stageBody == null) {
                    report(stage, "${where}: a stage must be written `stage('name') { ... }`")
                    return
                }
                if (!stageNames.add(name)) report(stage, "stage '${name}': stage names must be unique")
                String label = "stage '${name}'"
                List<MethodCallExpression> stageCalls = directives(stageBody, label, STAGE_DIRECTIVES, report)
                List<MethodCallExpression> bodies = stageCalls.findAll { it.methodAsString in STAGE_BODIES }
                if (bodies.size() != 1) {
                    report(stage, "${label}: needs exactly one of ${STAGE_BODIES.sort().join('/')}, found ${bodies*.methodAsString ?: 'none'}")
                }
                bodies.each { MethodCallExpression inner ->
                    switch (inner.methodAsString) {
                        case 'steps':
                            ClosureExpression steps = closureOf(inner)
                            if (steps == null || statementsOf(steps).every { it.isEmpty() }) report(inner, "${label}: `steps` is empty")
                            break
                        case 'stages':
                        case 'parallel':
                            checkStages(inner, label)
                            break
                        default:
                            if (closureOf(inner) == null) report(inner, "${label}: `matrix` needs a block")
                    }
                }
                stageCalls.findAll { it.methodAsString == 'when' }.each { checkWhen(it, label, WHEN_CONDITIONS, report) }
                stageCalls.findAll { it.methodAsString == 'post' }.each { checkPost(it, label, POST_CONDITIONS, report) }
            }
        }
        if (byName.stages) checkStages(byName.stages, 'pipeline')
        if (problems.isEmpty()) {
            println "ok: declarative structure: ${byName.keySet().join(', ')}; ${stageCount} stage(s): ${stageNames.join(' > ')}"
        }
    }
}

if (!problems.isEmpty()) {
    problems.each { System.err.println(it) }
    System.err.println("FAIL: ${jenkinsfile.path}: ${problems.size()} declarative problem(s)")
    System.exit(1)
}
