package dev.graylane.testing;

import com.alibaba.nacos.api.NacosFactory;
import com.alibaba.nacos.api.PropertyKeyConst;
import com.alibaba.nacos.api.naming.NamingService;
import com.alibaba.nacos.api.naming.pojo.Instance;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;

/**
 * One hop of graylane's demo protocol, written as a Java service on MSE's conventions would be:
 *
 * <pre>
 *   SERVICE=b NEXT=c MSE_ALICLOUD_SERVICE_TAG=gray NACOS_SERVER_ADDR=127.0.0.1:8848 java ... JavaService
 * </pre>
 *
 * <ul>
 *   <li>registers in Nacos through the official client with {@code alicloud.service.tag: <lane>}
 *       (empty for base), in the client's default namespace unless NACOS_NAMESPACE is set;</li>
 *   <li>{@code GET /<service>} answers its hop and its callee's, as JSON
 *       ({@code [{service, lane, address}]}) or text ({@code B[base]@127.0.0.1:p -> ...});</li>
 *   <li>picks the callee instance whose {@code alicloud.service.tag} equals the request's
 *       {@code x-mse-tag}, else a base instance (no tag), and forwards {@code x-mse-tag} unchanged;
 *       a call that cannot connect is retried once on the next candidate;</li>
 *   <li>on SIGTERM deregisters, keeps serving for a moment so callers see the change, then stops.</li>
 * </ul>
 * Prints {@code READY <host:port>} once registered.
 */
public final class JavaService {

    private static final String TAG_KEY = "alicloud.service.tag";
    private static final String TAG_HEADER = "x-mse-tag";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String service;
    private final String next;
    private final String lane;
    private final NamingService naming;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private String address;

    private JavaService(String service, String next, String lane, NamingService naming) {
        this.service = service;
        this.next = next;
        this.lane = lane;
        this.naming = naming;
    }

    public static void main(String[] args) throws Exception {
        String service = required("SERVICE");
        String next = env("NEXT", "");
        String lane = env("MSE_ALICLOUD_SERVICE_TAG", "");
        Properties props = new Properties();
        props.setProperty(PropertyKeyConst.SERVER_ADDR, required("NACOS_SERVER_ADDR"));
        String namespace = env("NACOS_NAMESPACE", "");
        if (!namespace.isEmpty()) props.setProperty(PropertyKeyConst.NAMESPACE, namespace);
        if (!env("NACOS_USERNAME", "").isEmpty()) {
            props.setProperty(PropertyKeyConst.USERNAME, env("NACOS_USERNAME", ""));
            props.setProperty(PropertyKeyConst.PASSWORD, env("NACOS_PASSWORD", ""));
        }
        NamingService naming = NacosFactory.createNamingService(props);
        new JavaService(service, next, lane, naming).run(Integer.parseInt(env("SERVICE_PORT", "0")));
    }

    private void run(int port) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/" + service, this::handle);
        server.start();
        int bound = server.getAddress().getPort();
        address = "127.0.0.1:" + bound;
        if (!next.isEmpty()) naming.subscribe(next, event -> { });
        Instance self = new Instance();
        self.setIp("127.0.0.1");
        self.setPort(bound);
        self.setEphemeral(true);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put(TAG_KEY, lane);
        self.setMetadata(metadata);
        naming.registerInstance(service, self);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                naming.deregisterInstance(service, self);
                Thread.sleep(1500);
                naming.shutDown();
            } catch (Exception ignored) {
                // exiting anyway
            }
            server.stop(0);
        }));
        System.out.println("READY " + address);
        System.out.flush();
    }

    private void handle(HttpExchange exchange) throws IOException {
        String tag = exchange.getRequestHeaders().getFirst(TAG_HEADER);
        List<Map<String, Object>> hops = new ArrayList<>();
        Map<String, Object> me = new LinkedHashMap<>();
        me.put("service", service.toUpperCase());
        me.put("lane", lane.isEmpty() ? "base" : lane);
        me.put("address", address);
        hops.add(me);
        int status = 200;
        if (!next.isEmpty()) {
            try {
                hops.addAll(callNext(tag));
            } catch (Exception error) {
                status = 502;
                Map<String, Object> failure = new LinkedHashMap<>();
                failure.put("error", service.toUpperCase() + " could not call " + next + ": " + error);
                hops.add(failure);
            }
        }
        String accept = exchange.getRequestHeaders().getFirst("accept");
        byte[] body;
        if (accept != null && accept.contains("application/json")) {
            exchange.getResponseHeaders().set("content-type", "application/json");
            body = JSON.writeValueAsBytes(hops);
        } else {
            exchange.getResponseHeaders().set("content-type", "text/plain");
            body = (hops.stream().map(h -> h.get("service") + "[" + h.get("lane") + "]@" + h.get("address"))
                    .collect(Collectors.joining(" -> ")) + "\n").getBytes(StandardCharsets.UTF_8);
        }
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    /** The callee's instances in the request's lane, else base ones; a refused connection moves on. */
    private List<Map<String, Object>> callNext(String tag) throws Exception {
        List<Instance> candidates = candidates(tag);
        if (candidates.isEmpty()) throw new IOException("no instance of " + next + " for lane " + tag);
        Exception last = null;
        for (int attempt = 0; attempt < 2 && attempt < candidates.size(); attempt++) {
            Instance target = candidates.get(attempt);
            HttpRequest.Builder request = HttpRequest.newBuilder(
                    URI.create("http://" + target.getIp() + ":" + target.getPort() + "/" + next))
                    .timeout(Duration.ofSeconds(5)).header("accept", "application/json");
            if (tag != null && !tag.isEmpty()) request.header(TAG_HEADER, tag);
            try {
                HttpResponse<String> response = client.send(request.GET().build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() != 200) throw new IOException(next + " answered " + response.statusCode() + ": " + response.body());
                return JSON.readValue(response.body(), new TypeReference<List<Map<String, Object>>>() { });
            } catch (java.net.ConnectException error) {
                last = error;
            }
        }
        throw last;
    }

    private List<Instance> candidates(String tag) throws Exception {
        List<Instance> healthy = naming.selectInstances(next, true);
        List<Instance> inLane = new ArrayList<>();
        List<Instance> base = new ArrayList<>();
        for (Instance instance : healthy) {
            String instanceTag = instance.getMetadata().getOrDefault(TAG_KEY, "");
            if (tag != null && !tag.isEmpty() && tag.equals(instanceTag)) inLane.add(instance);
            else if (instanceTag.isEmpty()) base.add(instance);
        }
        Collections.shuffle(inLane, ThreadLocalRandom.current());
        Collections.shuffle(base, ThreadLocalRandom.current());
        inLane.addAll(base);
        return inLane;
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null ? fallback : value;
    }

    private static String required(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            System.err.println("JavaService: " + name + " is required");
            System.exit(2);
        }
        return value;
    }
}
