// Mocha's spec reporter, plus the plain closing line CI reads: "N passed, N failed".
"use strict";
const Mocha = require("mocha");

class CountingSpecReporter extends Mocha.reporters.Spec {
    constructor(runner, options) {
        super(runner, options);
        runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
            const { passes, failures, pending } = runner.stats;
            // After the spec reporter's epilogue, so it is the last line of the run.
            process.on("exit", () => {
                const skipped = pending > 0 ? `, ${pending} skipped` : "";
                process.stdout.write(`${passes} passed, ${failures} failed${skipped}\n`);
            });
        });
    }
}

module.exports = CountingSpecReporter;
