'use strict';
// Builds a small Maven project of the repository (scripts/nacos/java-server, test/java-service) once
// per machine into graylane's cache, keyed by a hash of its sources: `mvn package` resolves the
// dependencies from Maven Central into ~/.m2 and copies them to target/lib. Returns the classpath.

const fs = require('node:fs');
const fsp = require('node:fs/promises');
const path = require('node:path');
const { cacheDir, hashFiles, listFiles, buildOnce, runBuild } = require('./common.cjs');

/**
 * Builds `projectDir` (a Maven project whose package phase copies its runtime dependencies to
 * target/lib) unless a build of the same sources is cached; returns `{ dir, classpath }`.
 */
async function ensureMavenProject({ projectDir, name, log }) {
  const files = listFiles(projectDir);
  const key = `${name}-${hashFiles(projectDir, files)}`;
  const dir = path.join(cacheDir(), key);
  const done = path.join(dir, '.built');
  await buildOnce({
    lock: `${dir}.lock`,
    isDone: () => fs.existsSync(done),
    what: name,
    log,
    build: async () => {
      await fsp.rm(dir, { recursive: true, force: true });
      for (const file of files) {
        await fsp.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
        await fsp.copyFile(path.join(projectDir, file), path.join(dir, file));
      }
      log(`building ${name} with Maven (dependencies from Maven Central, cached in ~/.m2) into ${dir}`);
      const started = Date.now();
      try {
        await runBuild('mvn', ['-B', '-q', '-DskipTests', 'package'], {
          cwd: dir,
          log,
          progress: /^\[(ERROR|WARNING)\]|BUILD|Downloaded from/,
        });
      } catch (error) {
        if (error.code === 'ENOENT') throw new Error(`cannot build ${name}: \`mvn\` (Apache Maven) and a JDK 17+ are required on PATH`);
        throw error;
      }
      await fsp.writeFile(done, new Date().toISOString());
      log(`${name} built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  });
  // Dependency order as Maven resolved it (target/classpath.txt, written by build-classpath) when the
  // project asks for it, since jars holding classes of the same names must come in a fixed order;
  // else every jar in target/lib.
  const ordered = path.join(dir, 'target', 'classpath.txt');
  const dependencies = fs.existsSync(ordered) ? fs.readFileSync(ordered, 'utf8').trim() : path.join(dir, 'target', 'lib', '*');
  return { dir, classpath: [path.join(dir, 'target', 'classes'), dependencies].join(path.delimiter) };
}

module.exports = { ensureMavenProject };
