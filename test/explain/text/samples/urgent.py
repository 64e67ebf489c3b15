# Sends one byte of urgent data (URG flag) and a FIN over loopback; used by make-samples.sh.
import socket, threading, time

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 9000))
server.listen(1)

def serve():
    conn, _ = server.accept()
    conn.recv(100)
    time.sleep(0.1)
    conn.close()

thread = threading.Thread(target=serve)
thread.start()
client = socket.create_connection(("127.0.0.1", 9000))
client.send(b"ab")
client.send(b"!", socket.MSG_OOB)
time.sleep(0.1)
client.close()
thread.join()
server.close()
